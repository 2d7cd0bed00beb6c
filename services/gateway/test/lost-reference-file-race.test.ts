import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attachReference, createCharacter } from '@anime/characters';
import { createDb, type CharacterReference, type Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { createTestDatabase, pngHeader, type TestDatabase } from '@anime/testing';
import { noticeLostReferenceFiles } from '../src/domain/lost-reference-files';

let database: TestDatabase;
let db: Db;
let library: string;

beforeAll(async () => {
  database = await createTestDatabase('lost-reference-race');
  db = createDb(database.url, { max: 4 });
  library = await mkdtemp(path.join(tmpdir(), 'lost-reference-race-'));
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  if (library) await rm(library, { recursive: true, force: true });
});

describe('the character detail finding a reference file gone, racing its re-upload', () => {
  it('when the detail stats the file gone and the re-upload writes it back before the detail records the mark, then the reference ends not missing', async () => {
    const storage = new LocalLibraryStorage(library);
    const { id: characterId } = await createCharacter(db, { slug: 'mio', name: 'Mio', version: { definition: { displayName: 'Mio' }, attributes: {} } });
    const character = await db.character.findUniqueOrThrow({ where: { id: characterId } });
    const bytes = pngHeader(32, 32, 9);
    const { reference } = await attachReference({ db, storage }, character, { bytes, label: 'mio', kind: 'face' });
    await rm(path.join(library, reference.path));

    // The detail's stat finds nothing; the re-upload of the same image runs to its end (file written,
    // no mark yet to clear) before the detail records what its stat found.
    const looking = Object.assign(Object.create(storage) as LocalLibraryStorage, {
      version: async (relativePath: string) => {
        const seen = await storage.version(relativePath);
        await attachReference({ db, storage }, character, { bytes, label: 'mio', kind: 'face' });
        return seen;
      },
    });
    const row = await db.characterReference.findUniqueOrThrow({ where: { id: reference.id } });
    await noticeLostReferenceFiles({ db, storage: looking }, [row as CharacterReference]);

    expect(await readFile(path.join(library, reference.path))).toEqual(bytes);
    // The file is there with its bytes: a mark left set would 410 the file route until another upload.
    expect((await db.characterReference.findUniqueOrThrow({ where: { id: reference.id } })).missing).toBe(false);
    const [seenNow] = await noticeLostReferenceFiles({ db, storage }, [await db.characterReference.findUniqueOrThrow({ where: { id: reference.id } })]);
    expect(seenNow.missing).toBe(false);
  });
});
