import { readFile } from 'node:fs/promises';
import { createDb } from '@anime/db';
import { createRedis } from '@anime/pipeline';
import { commandOfStat, cpuMsOfProcessTree, parentOfStat } from './process-memory';

/** Statements postgresServerPid runs (pg_backend_pid(), SHOW data_directory), before any measuring. */
export const SERVER_LOOKUP_STATEMENTS = 2;

/** The processes of the PostgreSQL and Redis servers the bench uses: their root pid each; null where it is not on this machine or cannot be found. */
export interface StoreProcesses {
  /** The postmaster of the server `databaseUrl` reaches (its backends and workers run under it). */
  postgres: number | null;
  /** The redis-server `redisUrl` reaches (INFO server's process_id). */
  redis: number | null;
}

const statOf = (pid: number) => readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);

/**
 * The postmaster of the server `databaseUrl` reaches: the parent of this connection's backend
 * (pg_backend_pid()), when that is a `postgres` process of this machine under a `postgres` process.
 * Where the data directory's postmaster.pid can be read, it must name the same process (a server
 * in a container or on another host has pids of its own: unknown rather than a stranger's CPU).
 */
export async function postgresServerPid(databaseUrl: string): Promise<number | null> {
  const db = createDb(databaseUrl, { max: 1 });
  try {
    const [{ pid }] = await db.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
    const directory = await db
      .$queryRawUnsafe<{ data_directory: string }[]>('SHOW data_directory')
      .then((rows) => rows[0]?.data_directory ?? null)
      .catch(() => null);
    const backend = await statOf(pid);
    if (backend === null || commandOfStat(backend) !== 'postgres') return null;
    const postmaster = parentOfStat(backend);
    const postmasterStat = await statOf(postmaster);
    if (postmasterStat === null || commandOfStat(postmasterStat) !== 'postgres') return null;
    const pidFile = directory === null ? null : await readFile(`${directory}/postmaster.pid`, 'utf8').catch(() => null);
    if (pidFile !== null && Number(pidFile.split('\n')[0]) !== postmaster) return null;
    return postmaster;
  } catch {
    return null;
  } finally {
    await db.$disconnect();
  }
}

/** The redis-server `redisUrl` reaches: INFO server's process_id, when that is a `redis-server` process of this machine. */
export async function redisServerPid(redisUrl: string): Promise<number | null> {
  const redis = createRedis(redisUrl);
  try {
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    const stat = await statOf(pid);
    return stat !== null && commandOfStat(stat) === 'redis-server' ? pid : null;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/** The bench's PostgreSQL and Redis servers' processes (found once, before measuring). */
export async function storeProcesses(databaseUrl: string, redisUrl: string): Promise<StoreProcesses> {
  const [postgres, redis] = await Promise.all([postgresServerPid(databaseUrl), redisServerPid(redisUrl)]);
  return { postgres, redis };
}

/** CPU used so far in ms by those servers' processes (each with what it reaped); null for one not found. */
export async function storesCpuMs(stores: StoreProcesses): Promise<{ postgres: number | null; redis: number | null }> {
  const [postgres, redis] = await Promise.all([cpuMsOfProcessTree(stores.postgres), cpuMsOfProcessTree(stores.redis)]);
  return { postgres, redis };
}
