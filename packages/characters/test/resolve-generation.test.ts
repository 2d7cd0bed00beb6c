import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { CharacterDomainError } from '../src/character-domain-error';
import { createCharacter } from '../src/create-character';
import { createVersion } from '../src/create-version';
import { resolveGeneration } from '../src/resolve-generation';

let database: TestDatabase;
let db: Db;

const definition = (hair: string) => ({
  displayName: 'Mio',
  appearance: { hair },
  outfits: [{ name: 'School Uniform', prompt: 'sailor uniform' }],
  prompt: { positive: 'masterpiece', negative: 'lowres' },
  triggerWords: ['mio'],
  loras: [{ name: 'mio.safetensors', weight: 0.6 }],
});

async function refusal(promise: Promise<unknown>): Promise<CharacterDomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CharacterDomainError);
  return error as CharacterDomainError;
}

beforeAll(async () => {
  database = await createTestDatabase('resolve-generation');
  db = createDb(database.url, { max: 2 });
  const { id } = await createCharacter(db, { slug: 'mio', name: 'Mio', version: { definition: definition('long black hair'), attributes: { eye_color: 'green' } } });
  await db.characterReference.create({
    data: { characterId: id, label: 'Face', kind: 'face', path: 'references/mio/aaaaaaaa-face.png', sha256: 'a'.repeat(64), bytes: 1, mime: 'image/png' },
  });
  await createVersion(db, id, { definition: definition('short silver hair'), attributes: {} });
  await db.character.create({ data: { slug: 'gone', name: 'Gone', archivedAt: new Date() } });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('resolveGeneration', () => {
  it('when a request names a pinned version and an outfit in another case, then the conditioning is the one a job records', async () => {
    const { character, version, conditioning } = await resolveGeneration(db, { character: 'mio@1', outfit: 'school uniform', prompt: 'on a rooftop', negative: 'blurry' });
    expect(character.slug).toBe('mio');
    expect(version.number).toBe(1);
    expect(conditioning).toEqual({
      positive: 'mio, long black hair, green eyes, sailor uniform, masterpiece, on a rooftop',
      negative: 'lowres, blurry',
      loras: [{ name: 'mio.safetensors', weight: 0.6 }],
      references: [],
      outfit: 'School Uniform',
    });
  });

  it('when the request is unpinned, then the current version is used with the references attached now', async () => {
    const { version, conditioning } = await resolveGeneration(db, { character: 'Mio', prompt: 'x' });
    expect(version.number).toBe(2);
    expect(conditioning.positive).toBe('mio, short silver hair, masterpiece, x');
    expect(conditioning.references).toEqual([{ id: expect.any(String), label: 'Face', kind: 'face', sha256: 'a'.repeat(64), path: 'references/mio/aaaaaaaa-face.png' }]);
    expect(conditioning.outfit).toBeNull();
  });

  it('when the outfit is unknown, then outfit_not_found (400) lists the outfits there are', async () => {
    const error = await refusal(resolveGeneration(db, { character: 'mio', outfit: 'swimsuit', prompt: 'x' }));
    expect(error).toMatchObject({ code: 'outfit_not_found', status: 400, details: { outfit: 'swimsuit', available: ['School Uniform'] } });
  });

  it('when the character or version cannot be used, then the refusal says which', async () => {
    expect((await refusal(resolveGeneration(db, { character: 'nobody', prompt: 'x' }))).code).toBe('character_not_found');
    expect((await refusal(resolveGeneration(db, { character: 'gone', prompt: 'x' }))).code).toBe('character_archived');
    expect((await refusal(resolveGeneration(db, { character: 'mio@7', prompt: 'x' }))).code).toBe('version_not_found');
  });
});
