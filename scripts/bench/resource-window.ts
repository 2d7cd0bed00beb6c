import type { AppService } from '@anime/stack';
import type { BenchStack } from './bench-stack';
import { cpuMs, cpuMsOfCommand, rssMiB } from './process-memory';
import { readCounters, type ServiceCounters } from './service-metrics';

interface Snapshot {
  services: Record<AppService, ServiceCounters>;
  simulatorsCpuMs: number | null;
  clientCpuMs: number;
  postgresCpuMs: number | null;
  redisCpuMs: number | null;
  rss: Record<AppService, number | null>;
}

export interface ServiceUse {
  service: AppService;
  cpuMsPerJob: number;
  statementsPerJob: number;
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
  /** Every PostgreSQL and Redis process of the machine (from /proc): the bench's share when it runs alone. */
  postgresCpuMsPerJob: number | null;
  redisCpuMsPerJob: number | null;
}

async function snapshot(bench: BenchStack): Promise<Snapshot> {
  const services = {} as Record<AppService, ServiceCounters>;
  const rss = {} as Record<AppService, number | null>;
  await Promise.all(
    bench.services.map(async ({ name, pid }) => {
      services[name] = await readCounters(bench.metrics[name]);
      rss[name] = await rssMiB(pid);
    }),
  );
  const sims = await Promise.all(bench.simulators.map((s) => cpuMs(s.process.pid)));
  const [postgresCpuMs, redisCpuMs] = await Promise.all([cpuMsOfCommand('postgres'), cpuMsOfCommand('redis-server')]);
  const usage = process.cpuUsage();
  return {
    services,
    rss,
    simulatorsCpuMs: sims.some((v) => v === null) ? null : sims.reduce<number>((a, b) => a + (b ?? 0), 0),
    clientCpuMs: (usage.user + usage.system) / 1000,
    postgresCpuMs,
    redisCpuMs,
  };
}

const perJob = (before: number | null, after: number | null, jobs: number) => (before === null || after === null ? null : (after - before) / jobs);

/** Counters read before `work` and after it: CPU (process_cpu_seconds_total), statements, RSS. */
export async function measureWindow<T>(bench: BenchStack, jobs: (result: T) => number, work: () => Promise<T>): Promise<{ result: T; use: WindowUse }> {
  const before = await snapshot(bench);
  const result = await work();
  const after = await snapshot(bench);
  const n = jobs(result);
  const services = bench.services.map(({ name }) => ({
    service: name,
    cpuMsPerJob: (after.services[name].cpuMs - before.services[name].cpuMs) / n,
    statementsPerJob: (after.services[name].statements - before.services[name].statements) / n,
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
      simulatorsCpuMsPerJob: before.simulatorsCpuMs === null || after.simulatorsCpuMs === null ? null : (after.simulatorsCpuMs - before.simulatorsCpuMs) / n,
      clientCpuMsPerJob: (after.clientCpuMs - before.clientCpuMs) / n,
      postgresCpuMsPerJob: perJob(before.postgresCpuMs, after.postgresCpuMs, n),
      redisCpuMsPerJob: perJob(before.redisCpuMs, after.redisCpuMs, n),
    },
  };
}
