import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { BackendStore, type BackendRecord } from '../src/domain/backends/backend-store';

describe('BackendStore (the backends table as the orchestrator writes it)', () => {
  let database: TestDatabase;
  let db: Db;
  let store: BackendStore;

  beforeAll(async () => {
    database = await createTestDatabase('backend-store');
    db = createDb(database.url, { max: 2 });
    store = new BackendStore(db);
  });
  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  const seenAt = new Date('2026-11-28T13:14:15.678Z');
  const record = (over: Partial<BackendRecord> = {}): BackendRecord => ({
    id: 'aaaaaaaaaaaa', url: 'http://gpu-1:8188', up: true, inFlight: 1, queueDepth: 0, lastCheckpoint: 'a.safetensors', lastError: null, lastSeenAt: seenAt,
    capabilities: { checkpoints: ['a.safetensors'], loras: ['l.safetensors'], nodeClasses: ['KSampler'], ipAdapter: true }, capabilitiesAt: new Date('2026-11-28T13:00:00.000Z'),
    ...over,
  });

  it('when a backend is saved, then its row holds state, load, times in UTC and capabilities; saved again without capabilities, the stored ones stay', async () => {
    await store.save(record());
    expect(await db.backend.findUniqueOrThrow({ where: { id: 'aaaaaaaaaaaa' } })).toMatchObject({
      url: 'http://gpu-1:8188', state: 'up', busy: true, inFlight: 1, queueDepth: 0, lastCheckpoint: 'a.safetensors', lastError: null, lastSeenAt: seenAt,
      checkpoints: ['a.safetensors'], loras: ['l.safetensors'], nodeClasses: ['KSampler'], ipAdapter: true, capabilitiesAt: new Date('2026-11-28T13:00:00.000Z'), draining: false, jobsDone: 0,
    });
    await db.backend.update({ where: { id: 'aaaaaaaaaaaa' }, data: { draining: true } });
    await store.save(record({ up: false, inFlight: 0, lastError: 'connect ECONNREFUSED', lastSeenAt: null, capabilities: null, capabilitiesAt: null }));
    const row = await db.backend.findUniqueOrThrow({ where: { id: 'aaaaaaaaaaaa' } });
    expect(row).toMatchObject({ state: 'down', busy: false, lastError: 'connect ECONNREFUSED', lastSeenAt: null, checkpoints: ['a.safetensors'], ipAdapter: true, draining: true });
    expect(Math.abs(row.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
    const loaded = await store.load(['aaaaaaaaaaaa']);
    expect(loaded.get('aaaaaaaaaaaa')).toEqual({ capabilities: { checkpoints: ['a.safetensors'], loras: ['l.safetensors'], nodeClasses: ['KSampler'], ipAdapter: true }, capabilitiesAt: new Date('2026-11-28T13:00:00.000Z'), lastCheckpoint: 'a.safetensors', draining: true, stuck: null });
  });

  it('when a new backend is saved without capabilities, then it gets the defaults; finished jobs of several backends are counted at once', async () => {
    await store.save(record({ id: 'bbbbbbbbbbbb', url: 'http://gpu-2:8188', capabilities: null, capabilitiesAt: null }));
    expect(await db.backend.findUniqueOrThrow({ where: { id: 'bbbbbbbbbbbb' } })).toMatchObject({ checkpoints: [], loras: [], nodeClasses: [], ipAdapter: false, capabilitiesAt: null });
    await store.countDone([['aaaaaaaaaaaa', 3], ['bbbbbbbbbbbb', 2]]);
    await store.countDone([['bbbbbbbbbbbb', 1]]);
    const rows = await db.backend.findMany({ orderBy: { id: 'asc' }, select: { id: true, jobsDone: true } });
    expect(rows).toEqual([{ id: 'aaaaaaaaaaaa', jobsDone: 3 }, { id: 'bbbbbbbbbbbb', jobsDone: 3 }]);
  });

  it('when a backend is recorded stuck on a prompt, then the flags and a load tell it and since when (as recorded); another prompt does not replace it, and only its own clears it', async () => {
    const since = new Date('2026-11-28T13:20:21.345Z');
    await store.markStuck('bbbbbbbbbbbb', 'p-1', since);
    await store.markStuck('bbbbbbbbbbbb', 'p-2', new Date());
    expect((await store.flags()).stuck).toEqual(new Map([['bbbbbbbbbbbb', { promptId: 'p-1', since }]]));
    expect((await store.load(['aaaaaaaaaaaa', 'bbbbbbbbbbbb'])).get('bbbbbbbbbbbb')!.stuck).toEqual({ promptId: 'p-1', since });
    expect(await db.backend.findUniqueOrThrow({ where: { id: 'bbbbbbbbbbbb' } })).toMatchObject({ stuckPromptId: 'p-1', stuckSince: since });
    await store.clearStuck('bbbbbbbbbbbb', 'p-2');
    expect((await store.flags()).stuck.get('bbbbbbbbbbbb')).toEqual({ promptId: 'p-1', since });
    await store.clearStuck('bbbbbbbbbbbb', 'p-1');
    expect((await store.flags()).stuck.size).toBe(0);
    expect(await db.backend.findUniqueOrThrow({ where: { id: 'bbbbbbbbbbbb' } })).toMatchObject({ stuckPromptId: null, stuckSince: null });
  });

  it('when a second prompt is recorded replacing the one the backend was stuck on (ComfyUI let go of it), then it replaces it with its time; replacing another prompt than the recorded one does not', async () => {
    const first = new Date('2026-11-28T13:20:21.345Z');
    const second = new Date('2026-11-28T13:25:00.000Z');
    await store.markStuck('bbbbbbbbbbbb', 'p-1', first);
    await store.markStuck('bbbbbbbbbbbb', 'p-3', new Date(), 'p-9');
    expect((await store.flags()).stuck.get('bbbbbbbbbbbb')).toEqual({ promptId: 'p-1', since: first });
    await store.markStuck('bbbbbbbbbbbb', 'p-2', second, 'p-1');
    expect((await store.flags()).stuck.get('bbbbbbbbbbbb')).toEqual({ promptId: 'p-2', since: second });
    // The first's clearing, from a process that saw it let go of: the second stays.
    await store.clearStuck('bbbbbbbbbbbb', 'p-1');
    expect((await store.flags()).stuck.get('bbbbbbbbbbbb')).toEqual({ promptId: 'p-2', since: second });
    await store.clearStuck('bbbbbbbbbbbb', 'p-2');
    expect((await store.flags()).stuck.size).toBe(0);
  });
});
