import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { createTestDatabase, pngHeader, type TestDatabase } from '@anime/testing';
import { attachReference } from '../src/attach-reference';
import { createCharacter } from '../src/create-character';

let database: TestDatabase;
let db: Db;
let library: string;

beforeAll(async () => {
  database = await createTestDatabase('attach-missing-race');
  db = createDb(database.url, { max: 4 });
  library = await mkdtemp(path.join(tmpdir(), 'attach-missing-race-'));
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  if (library) await rm(library, { recursive: true, force: true });
});

describe('attachReference of an image attached already, racing a look that finds its file gone', () => {
  it('when the file is found gone and recorded missing after the upload read the row but before it wrote the file back, then the reference ends not missing', async () => {
    const storage = new LocalLibraryStorage(library);
    const { id: characterId } = await createCharacter(db, { slug: 'rin', name: 'Rin', version: { definition: { displayName: 'Rin' }, attributes: {} } });
    const character = await db.character.findUniqueOrThrow({ where: { id: characterId } });
    const bytes = pngHeader(32, 32, 7);
    const { reference } = await attachReference({ db, storage }, character, { bytes, label: 'rin', kind: 'face' });
    await rm(path.join(library, reference.path));

    // The file route, the character detail or a staging finds the file gone and records it missing
    // just as the re-upload, which read the row (not missing yet), writes the file back.
    const racing = Object.assign(Object.create(storage) as LocalLibraryStorage, {
      write: async (relativePath: string, written: Buffer) => {
        await db.characterReference.updateMany({ where: { id: reference.id, missing: false }, data: { missing: true } });
        await storage.write(relativePath, written);
      },
    });
    const again = await attachReference({ db, storage: racing }, character, { bytes, label: 'rin', kind: 'face' });

    expect(again.created).toBe(false);
    expect(await readFile(path.join(library, reference.path))).toEqual(bytes);
    // The file is back with its bytes: neither the answer nor the row may say missing.
    expect(again.reference.missing).toBe(false);
    expect((await db.characterReference.findUniqueOrThrow({ where: { id: reference.id } })).missing).toBe(false);
  });
});
