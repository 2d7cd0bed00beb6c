import { readdir, readFile, readlink } from 'node:fs/promises';
import { createDb } from '@anime/db';
import { createRedis } from '@anime/pipeline';
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from '@anime/testing';
import { commandOfStat, cpuMsOfProcessTree, parentOfStat, processTree } from './process-memory';
import { postgresServerPid, redisServerPid, storeProcesses, storesCpuMs } from './store-processes';

/** The pids listening on a TCP port of this machine, from /proc/net/tcp{,6} and each process's sockets: found without asking the server. */
async function listeningOn(port: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      // local_address is addr:PORT in hex; state 0A is LISTEN; field 9 is the socket's inode.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  const pids: number[] = [];
  for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

describe("the bench's PostgreSQL and Redis processes (the servers it uses, not every postgres and redis-server of the machine)", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('store-processes');
  });

  afterAll(async () => {
    await database.drop();
  });

  it('when the PostgreSQL server is found, then it is the postmaster listening on the port the bench connects to, and its tree holds the backends of that server alone', async () => {
    const postmaster = await postgresServerPid(database.url);
    expect(postmaster).not.toBeNull();
    expect(await listeningOn(Number(new URL(database.url).port || 5432))).toContain(postmaster);

    const db = createDb(database.url, { max: 1 });
    try {
      const [{ own }] = await db.$queryRawUnsafe<{ own: number }[]>('SELECT pg_backend_pid() AS own');
      const rows = await db.$queryRawUnsafe<{ pid: number }[]>(`SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'`);
      const tree = (await processTree(postmaster!))!;
      const inTree = new Set(tree.map((p) => p.pid));
      // Every client backend of that server (this connection's among them) runs under it; every process under it is PostgreSQL's.
      // Other test files' backends come and go meanwhile: one listed that has ended before the tree was read is not in it.
      expect(rows.map((r) => r.pid)).toContain(own);
      expect(inTree).toContain(own);
      for (const { pid } of rows) {
        if (!inTree.has(pid)) expect(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => 'ended')).toBe('ended');
      }
      expect(tree.every((p) => p.command === 'postgres')).toBe(true);
      // Another PostgreSQL server of the machine (a postmaster: a postgres process whose parent is not one) is not counted, nor anything under it.
      const postmasters: number[] = [];
      for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
        if (commandOfStat(stat) !== 'postgres') continue;
        const parent = await readFile(`/proc/${parentOfStat(stat)}/stat`, 'utf8').catch(() => '');
        if (commandOfStat(parent) !== 'postgres') postmasters.push(Number(entry));
      }
      expect(postmasters).toContain(postmaster);
      for (const other of postmasters.filter((p) => p !== postmaster)) {
        expect(inTree).not.toContain(other);
        for (const p of (await processTree(other)) ?? []) expect(inTree).not.toContain(p.pid);
      }
    } finally {
      await db.$disconnect();
    }
  });

  it("when a connection's backend burns CPU and exits, then that server's CPU grows by it (reaped into the postmaster), and CPU of this node process is not in it", async () => {
    const stores = await storeProcesses(database.url, TEST_REDIS_URL);
    const before = await storesCpuMs(stores);
    const db = createDb(database.url, { max: 1 });
    const started = performance.now();
    const rows = await db.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
    await db.$queryRawUnsafe('SELECT count(*) FROM generate_series(1, 3000000) g WHERE g % 7 = 0');
    const queryMs = performance.now() - started;
    await db.$disconnect();
    // The backend has exited (and been reaped) once its pid is gone.
    for (let i = 0; i < 100 && (await readFile(`/proc/${rows[0].pid}/stat`, 'utf8').catch(() => null)) !== null; i++) await new Promise((r) => setTimeout(r, 20));
    const after = await storesCpuMs(stores);
    const grown = after.postgres! - before.postgres!;
    // The query took queryMs of wall time, most of it the backend's CPU (10 ms ticks).
    expect(grown).toBeGreaterThanOrEqual(Math.min(queryMs * 0.3, queryMs - 30));
    // This process's CPU is not there: it is not in the tree whose CPU is counted. (Not a bound
    // on `grown`: the other test files' databases are on the same server, their backends' CPU in it.)
    const counted = ((await processTree(stores.postgres!)) ?? []).map((p) => p.pid);
    expect(counted).toContain(stores.postgres);
    expect(counted).not.toContain(process.pid);
    expect(counted).not.toContain(process.ppid);
  });

  it("when the Redis server is found, then it is the redis-server listening on the bench's Redis port (INFO server's process_id)", async () => {
    const pid = await redisServerPid(TEST_REDIS_URL);
    expect(pid).not.toBeNull();
    expect(await listeningOn(Number(new URL(TEST_REDIS_URL).port || 6379))).toContain(pid);
    const redis = createRedis(TEST_REDIS_URL);
    try {
      expect(await redis.info('server')).toContain(`process_id:${pid}`);
    } finally {
      redis.disconnect();
    }
    expect(await cpuMsOfProcessTree(pid)).toBeGreaterThan(0);
  });

  it('when a server is not reachable from this machine, then its processes are unknown, not some other server’s', async () => {
    const url = new URL(database.url);
    url.port = '1';
    expect(await postgresServerPid(url.toString())).toBeNull();
    expect(await redisServerPid('redis://127.0.0.1:1/0')).toBeNull();
    expect(await storesCpuMs({ postgres: null, redis: null })).toEqual({ postgres: null, redis: null });
  });
});
