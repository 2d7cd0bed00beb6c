import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { ReferenceStager, ReferenceUnavailableError, type ReferenceToStage } from '../src/domain/reference-stager';

// The stager moves bytes and never decodes them: two distinct byte strings with a PNG name will do.
const PNG_A = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
const PNG_B = Buffer.concat([PNG_A, Buffer.from('trailing bytes make a different file')]);

describe('ReferenceStager', () => {
  let database: TestDatabase;
  let db: Db;
  let libraryDir: string;
  let simulator: Simulator;
  let client: ComfyClient;
  const log = createLogger('orchestrator-test', 'error');
  const refs: ReferenceToStage[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('reference-stager');
    db = createDb(database.url, { max: 3 });
    libraryDir = await mkdtemp(path.join(tmpdir(), 'stager-library-'));
    const storage = new LocalLibraryStorage(libraryDir);
    for (const [label, bytes, kind] of [['Sakura', PNG_A, 'face'], ['Hiroshi', PNG_B, 'body']] as const) {
      const ref = { label, kind, sha256: sha256Hex(bytes), path: `references/kai/${label.toLowerCase()}.png` };
      await storage.write(ref.path, bytes);
      refs.push(ref);
    }
    simulator = await startSimulator({ port: 0, stepMs: 1 });
    client = new ComfyClient({ baseUrl: simulator.url, log });
  });

  afterAll(async () => {
    await client.close();
    await simulator.close();
    await db.$disconnect();
    await database.drop();
    await rm(libraryDir, { recursive: true, force: true });
  });

  const newStager = () => new ReferenceStager({ db, storage: new LocalLibraryStorage(libraryDir), log });

  it('when two jobs stage the same references at once, then each image is uploaded once and LoadImage gets the names the backend gave', async () => {
    const stager = newStager();
    const [first, second] = await Promise.all([stager.stage(simulator.url, client, refs), stager.stage(simulator.url, client, refs)]);
    expect(simulator.uploads.map((u) => u.sha256).sort()).toEqual(refs.map((r) => r.sha256).sort());
    expect(first).toEqual(second);
    expect(first.map((s) => s.image)).toEqual(refs.map((r) => `anime-ref-${r.sha256}.png`));
    expect(first.map((s) => s.kind)).toEqual(['face', 'body']);
    const rows = await db.backendUpload.findMany({ where: { backend: simulator.url } });
    expect(rows).toHaveLength(2);
  });

  it('when a new process stages them again, then the recorded uploads are reused without uploading', async () => {
    const before = simulator.uploads.length;
    const staged = await newStager().stage(simulator.url, client, refs);
    expect(simulator.uploads.length).toBe(before);
    expect(staged.map((s) => s.image)).toEqual(refs.map((r) => `anime-ref-${r.sha256}.png`));
  });

  it('when the backend lost an uploaded file, then a new process uploads that one again', async () => {
    await rm(path.join(simulator.inputDir, `anime-ref-${refs[0].sha256}.png`));
    const before = simulator.uploads.length;
    await newStager().stage(simulator.url, client, refs);
    expect(simulator.uploads.slice(before).map((u) => u.sha256)).toEqual([refs[0].sha256]);
  });

  it('when the backend restarts without its input folder, then the same process checks again in the new session and uploads what is gone; within a session it does not ask', async () => {
    let session = 1;
    const stager = new ReferenceStager({ db, storage: new LocalLibraryStorage(libraryDir), log, sessionOf: () => session });
    await stager.stage(simulator.url, client, refs);
    await rm(path.join(simulator.inputDir, `anime-ref-${refs[1].sha256}.png`));
    const before = simulator.uploads.length;
    await stager.stage(simulator.url, client, refs);
    expect(simulator.uploads.length).toBe(before);

    session = 2;
    await stager.stage(simulator.url, client, refs);
    expect(simulator.uploads.slice(before).map((u) => u.sha256)).toEqual([refs[1].sha256]);
  });

  it('when a confirmation is older than the recheck bound, then it is checked again', async () => {
    const stager = new ReferenceStager({ db, storage: new LocalLibraryStorage(libraryDir), log, recheckAfterMs: 0 });
    await stager.stage(simulator.url, client, refs);
    await rm(path.join(simulator.inputDir, `anime-ref-${refs[0].sha256}.png`));
    const before = simulator.uploads.length;
    await stager.stage(simulator.url, client, refs);
    expect(simulator.uploads.slice(before).map((u) => u.sha256)).toEqual([refs[0].sha256]);
  });

  it('when the library file is missing or altered, then staging fails with ReferenceUnavailableError naming it', async () => {
    const missing = { ...refs[0], sha256: sha256Hex(Buffer.from('other')), path: 'references/kai/gone.png' };
    await expect(newStager().stage(simulator.url, client, [missing])).rejects.toBeInstanceOf(ReferenceUnavailableError);
    const altered = { ...refs[1], sha256: sha256Hex(Buffer.from('not these bytes')) };
    await expect(newStager().stage(simulator.url, client, [altered])).rejects.toThrow(/no longer has sha256/);
  });

  it('when the backend already has the image but the library file was altered or removed since, then staging still fails; restored, it stages again', async () => {
    const stager = newStager();
    const [sakura] = refs;
    const file = path.join(libraryDir, sakura.path);
    await stager.stage(simulator.url, client, [sakura]);
    // Confirmed on the backend now: what is checked is the library's file.
    await appendFile(file, 'one more byte');
    await expect(stager.stage(simulator.url, client, [sakura])).rejects.toThrow(/no longer has sha256/);
    await writeFile(file, PNG_A);
    expect(await stager.stage(simulator.url, client, [sakura])).toHaveLength(1);
    await rename(file, `${file}.moved`);
    await expect(stager.stage(simulator.url, client, [sakura])).rejects.toThrow(/missing from the library/);
    await rename(`${file}.moved`, file);
    expect(await stager.stage(simulator.url, client, [sakura])).toHaveLength(1);
  });

  it('when a reference file is found gone or altered, then its row is marked missing; found intact again, the mark is cleared', async () => {
    const bytes = Buffer.concat([PNG_A, Buffer.from('yuki')]);
    const character = await db.character.create({ data: { slug: 'yuki', name: 'Yuki' } });
    const row = await db.characterReference.create({
      data: { characterId: character.id, label: 'Yuki', kind: 'face', path: 'references/yuki/yuki.png', sha256: sha256Hex(bytes), bytes: bytes.length, mime: 'image/png' },
    });
    const yuki: ReferenceToStage = { id: row.id, label: row.label, kind: row.kind, sha256: row.sha256, path: row.path };
    const file = path.join(libraryDir, row.path);
    const isMissing = async () => (await db.characterReference.findUniqueOrThrow({ where: { id: row.id } })).missing;
    const stager = newStager();

    // Never written: gone.
    await expect(stager.stage(simulator.url, client, [yuki])).rejects.toThrow(/missing from the library/);
    expect(await isMissing()).toBe(true);
    await new LocalLibraryStorage(libraryDir).write(row.path, bytes);
    expect(await stager.stage(simulator.url, client, [yuki])).toHaveLength(1);
    expect(await isMissing()).toBe(false);
    // Altered behind the library's back.
    await appendFile(file, 'one more byte');
    await expect(stager.stage(simulator.url, client, [yuki])).rejects.toThrow(/no longer has sha256/);
    expect(await isMissing()).toBe(true);
    await writeFile(file, bytes);
    expect(await newStager().stage(simulator.url, client, [yuki])).toHaveLength(1);
    expect(await isMissing()).toBe(false);
  });

  it('when the file is found gone and a re-upload writes it back (finding no mark to clear) before the staging records the mark, then the reference ends not missing', async () => {
    const bytes = Buffer.concat([PNG_A, Buffer.from('nana')]);
    const character = await db.character.create({ data: { slug: 'nana', name: 'Nana' } });
    const row = await db.characterReference.create({
      data: { characterId: character.id, label: 'Nana', kind: 'face', path: 'references/nana/nana.png', sha256: sha256Hex(bytes), bytes: bytes.length, mime: 'image/png' },
    });
    const nana: ReferenceToStage = { id: row.id, label: row.label, kind: row.kind, sha256: row.sha256, path: row.path };
    const storage = new LocalLibraryStorage(libraryDir);
    // The staging's stat finds nothing; the re-upload then writes the file and clears a mark not set yet.
    const racing = Object.assign(Object.create(storage) as LocalLibraryStorage, {
      version: async (relativePath: string) => {
        const seen = await storage.version(relativePath);
        await storage.write(relativePath, bytes);
        await db.characterReference.updateMany({ where: { id: row.id, missing: true }, data: { missing: false } });
        return seen;
      },
    });

    await expect(new ReferenceStager({ db, storage: racing, log }).stage(simulator.url, client, [nana])).rejects.toThrow(/missing from the library/);
    // The file is there with its bytes: a mark left set would 410 its file route until another upload.
    expect((await db.characterReference.findUniqueOrThrow({ where: { id: row.id } })).missing).toBe(false);
  });
});
