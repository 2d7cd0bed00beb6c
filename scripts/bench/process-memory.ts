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

/**
 * The fields of /proc/<pid>/stat after the command name, from field 3 (state) on: field n is at
 * index n - 3. The command name (field 2) may hold spaces and parentheses: they follow its last ')'.
 */
const fieldsAfterCommand = (stat: string): string[] => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** utime + stime of /proc/<pid>/stat (fields 14 and 15) in ms: process.cpuUsage's user + system, seen from outside. */
export function cpuMsFromStat(stat: string): number {
  const fields = fieldsAfterCommand(stat);
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
  const fields = fieldsAfterCommand(stat);
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** The command name of /proc/<pid>/stat (field 2, between the first '(' and the last ')'). */
export const commandOfStat = (stat: string) => stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));

/** The parent's pid of /proc/<pid>/stat (field 4). */
export function parentOfStat(stat: string): number {
  return Number(fieldsAfterCommand(stat)[1]);
}

/** A process and every process under it, alive now (from /proc): its pid first; null when it is not running. */
export async function processTree(root: number): Promise<{ pid: number; command: string; stat: string }[] | null> {
  const rootStat = await readFile(`/proc/${root}/stat`, 'utf8').catch(() => null);
  if (rootStat === null) return null;
  const children = new Map<number, { pid: number; command: string; stat: string }[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
    if (stat === null) continue;
    const parent = parentOfStat(stat);
    const siblings = children.get(parent) ?? [];
    siblings.push({ pid: Number(entry), command: commandOfStat(stat), stat });
    children.set(parent, siblings);
  }
  const tree = [{ pid: root, command: commandOfStat(rootStat), stat: rootStat }];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i].pid) ?? []));
  return tree;
}

/**
 * CPU time used so far in ms by one server: its process and every process under it (a postmaster's
 * backends and background workers), each with the children it reaped: a connection's backend that
 * exited is counted in its postmaster. Null when the process is not running or /proc cannot be read.
 */
export async function cpuMsOfProcessTree(root: number | null): Promise<number | null> {
  if (root === null) return null;
  try {
    const tree = await processTree(root);
    return tree === null ? null : tree.reduce((total, p) => total + cpuMsWithChildrenFromStat(p.stat), 0);
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
