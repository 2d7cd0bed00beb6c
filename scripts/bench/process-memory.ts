import { readdir, readFile } from 'node:fs/promises';

/** Resident set size of a process in MiB, from /proc (Linux); null when it cannot be read. */
export async function rssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kib === undefined ? null : Number(kib) / 1024;
  } catch {
    return null;
  }
}

// USER_HZ: the unit of /proc/<pid>/stat's times; 100 on every Linux this runs on (getconf CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of /proc/<pid>/stat (fields 14 and 15) in ms: process.cpuUsage's user + system, seen from outside. */
export function cpuMsFromStat(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time this process has used so far in ms (process.cpuUsage user + system). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** CPU time a process has used so far in ms (10 ms resolution); null when it cannot be read. */
export async function cpuMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    return cpuMsFromStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** utime + stime + cutime + cstime of /proc/<pid>/stat in ms: the process and the children it reaped. */
export function cpuMsWithChildrenFromStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** The command name of /proc/<pid>/stat (field 2, between the first '(' and the last ')'). */
export const commandOfStat = (stat: string) => stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));

/**
 * CPU time used so far in ms by every process of this machine whose command is `command` (e.g. all
 * of PostgreSQL's processes), with the children they reaped: a connection's backend that exits is
 * then counted in its postmaster. Null when /proc cannot be read.
 */
export async function cpuMsOfCommand(command: string): Promise<number | null> {
  try {
    const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
    let total = 0;
    for (const pid of pids) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
      if (stat !== null && commandOfStat(stat) === command) total += cpuMsWithChildrenFromStat(stat);
    }
    return total;
  } catch {
    return null;
  }
}

/** voluntary + nonvoluntary context switches of one /proc/<pid>/task/<tid>/status. */
export function contextSwitchesFromStatus(status: string): number {
  const voluntary = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1];
  const forced = /^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1];
  return Number(voluntary ?? 0) + Number(forced ?? 0);
}

/**
 * Context switches of every thread of a process so far: each time one of its threads gave up its
 * core (to wait for I/O, or pre-empted) and later woke. Null when /proc cannot be read.
 */
export async function contextSwitches(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const tids = await readdir(`/proc/${pid}/task`);
    let total = 0;
    for (const tid of tids) {
      const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8').catch(() => null);
      if (status !== null) total += contextSwitchesFromStatus(status);
    }
    return total;
  } catch {
    return null;
  }
}
