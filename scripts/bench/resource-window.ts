import type { AppService } from '@anime/stack';
import type { BenchStack } from './bench-stack';
import { contextSwitches, cpuMs, ownCpuMs, rssMiB } from './process-memory';
import { commandsPerJob, redisCommandCalls } from './redis-commands';
import { readCounters, type ServiceCounters } from './service-metrics';
import { storeProcesses, storesCpuMs, type StoreProcesses } from './store-processes';
import { deltaPer, sumKnown } from './stats';

interface Snapshot {
  services: Record<AppService, ServiceCounters>;
  simulatorsCpuMs: number | null;
  clientCpuMs: number;
  postgresCpuMs: number | null;
  redisCpuMs: number | null;
  rss: Record<AppService, number | null>;
  switches: Record<AppService, number | null>;
  redisCalls: Record<string, number> | null;
}

export interface ServiceUse {
  service: AppService;
  cpuMsPerJob: number;
  statementsPerJob: number;
  /** Garbage-collection pauses of its main thread per job (part of its CPU); null when its metrics lack them. */
  gcMsPerJob: number | null;
  /** Context switches of all its threads per job (from /proc): how often it gave up its core and woke. */
  switchesPerJob: number | null;
  rssBefore: number | null;
  rssAfter: number | null;
}

/** What one measuring window cost, per job: each service, the simulators and the bench's own client. */
export interface WindowUse {
  jobs: number;
  services: ServiceUse[];
  totalCpuMsPerJob: number;
  totalStatementsPerJob: number;
  simulatorsCpuMsPerJob: number | null;
  clientCpuMsPerJob: number;
  /** The processes of the PostgreSQL server and the Redis server the bench uses (from /proc; a postmaster's backends and workers with it), not other servers of the machine. */
  postgresCpuMsPerJob: number | null;
  redisCpuMsPerJob: number | null;
  /** Commands Redis ran per job, by command, the most frequent first (INFO commandstats). */
  redisCommands?: { command: string; perJob: number }[] | null;
}

/** CPU used so far by all the bench's simulators together, in ms; null when one cannot be read. */
export async function simulatorsCpuMs(bench: BenchStack): Promise<number | null> {
  const each = await Promise.all(bench.simulators.map((s) => cpuMs(s.process.pid)));
  return sumKnown(each);
}

async function snapshot(bench: BenchStack, stores: StoreProcesses): Promise<Snapshot> {
  const services = {} as Record<AppService, ServiceCounters>;
  const rss = {} as Record<AppService, number | null>;
  const switches = {} as Record<AppService, number | null>;
  await Promise.all(
    bench.services.map(async ({ name, pid }) => {
      services[name] = await readCounters(bench.metrics[name]);
      rss[name] = await rssMiB(pid);
      switches[name] = await contextSwitches(pid);
    }),
  );
  const redisCalls = await redisCommandCalls(bench.redisUrl);
  const { postgres: postgresCpuMs, redis: redisCpuMs } = await storesCpuMs(stores);
  const clientCpuMs = ownCpuMs();
  return {
    services,
    rss,
    switches,
    redisCalls,
    simulatorsCpuMs: await simulatorsCpuMs(bench),
    clientCpuMs,
    postgresCpuMs,
    redisCpuMs,
  };
}

/**
 * GC pauses per unit between two readings of nodejs_gc_duration_seconds_sum. prom-client shows the
 * histogram once a pause was observed: absent before but present after is none before; absent after
 * is unknown (the service does not expose it).
 */
export function gcMsPer(before: number, after: number, units: number): number | null {
  if (Number.isNaN(after)) return null;
  return deltaPer(Number.isNaN(before) ? 0 : before, after, units);
}

/** Counters read before `work` and after it: CPU (process_cpu_seconds_total), GC pauses, statements, RSS, context switches, Redis commands. */
export async function measureWindow<T>(bench: BenchStack, jobs: (result: T) => number, work: () => Promise<T>): Promise<{ result: T; use: WindowUse }> {
  const stores = await storeProcesses(bench.databaseUrl, bench.redisUrl);
  const before = await snapshot(bench, stores);
  const result = await work();
  const after = await snapshot(bench, stores);
  const n = jobs(result);
  const services = bench.services.map(({ name }) => ({
    service: name,
    cpuMsPerJob: (after.services[name].cpuMs - before.services[name].cpuMs) / n,
    statementsPerJob: (after.services[name].statements - before.services[name].statements) / n,
    gcMsPerJob: gcMsPer(before.services[name].gcMs, after.services[name].gcMs, n),
    switchesPerJob: deltaPer(before.switches[name], after.switches[name], n),
    rssBefore: before.rss[name],
    rssAfter: after.rss[name],
  }));
  return {
    result,
    use: {
      jobs: n,
      services,
      totalCpuMsPerJob: services.reduce((a, s) => a + s.cpuMsPerJob, 0),
      totalStatementsPerJob: services.reduce((a, s) => a + s.statementsPerJob, 0),
      simulatorsCpuMsPerJob: deltaPer(before.simulatorsCpuMs, after.simulatorsCpuMs, n),
      clientCpuMsPerJob: (after.clientCpuMs - before.clientCpuMs) / n,
      postgresCpuMsPerJob: deltaPer(before.postgresCpuMs, after.postgresCpuMs, n),
      redisCpuMsPerJob: deltaPer(before.redisCpuMs, after.redisCpuMs, n),
      redisCommands: commandsPerJob(before.redisCalls, after.redisCalls, n),
    },
  };
}
