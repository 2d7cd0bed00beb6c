import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { CharacterDomainError } from '../src/character-domain-error';
import { createCharacter } from '../src/create-character';
import { createVersion } from '../src/create-version';
import { writeVersion } from '../src/write-version';

let database: TestDatabase;
let db: Db;

const content = (hair: string) => ({ definition: { displayName: 'Kai', appearance: { hair } }, attributes: { hair_color: hair, height_cm: 172, is_lead: true } });

async function addReference(characterId: string, sha: string, detached = false) {
  return db.characterReference.create({
    data: { characterId, label: sha, kind: 'face', path: `references/x/${sha}.png`, sha256: sha.repeat(64), bytes: 1, mime: 'image/png', detachedAt: detached ? new Date() : null },
  });
}

beforeAll(async () => {
  database = await createTestDatabase('write-version');
  db = createDb(database.url, { max: 6 });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('writeVersion', () => {
  it('when a character is created, then it has version 1 with typed attributes, and it is current', async () => {
    const { id } = await createCharacter(db, { slug: 'kai', name: 'Kai', version: { ...content('black'), note: 'first' } });
    const character = await db.character.findUniqueOrThrow({ where: { id }, include: { versions: { include: { attributes: { orderBy: { key: 'asc' } } } } } });
    expect(character.currentVersion).toBe(1);
    expect(character.versions).toHaveLength(1);
    expect(character.versions[0]).toMatchObject({ number: 1, note: 'first' });
    expect(character.versions[0].attributes.map((a) => [a.key, a.type, a.value])).toEqual([
      ['hair_color', 'string', 'black'],
      ['height_cm', 'number', 172],
      ['is_lead', 'boolean', true],
    ]);
  });

  it('when several versions are posted at once, then they take N+1, N+2, ... each once, and the last becomes current', async () => {
    const { id } = await createCharacter(db, { slug: 'burst', name: 'Burst', version: content('black') });
    const written = await Promise.all(Array.from({ length: 5 }, (_, i) => createVersion(db, id, content(`shade ${i}`))));
    expect(written.map((v) => v.number).sort()).toEqual([2, 3, 4, 5, 6]);
    expect((await db.character.findUniqueOrThrow({ where: { id } })).currentVersion).toBe(6);
  });

  it('when no references are named, then the version links the ones attached right now; named ones are linked as given', async () => {
    const { id } = await createCharacter(db, { slug: 'refs', name: 'Refs', version: content('black') });
    const attached = await addReference(id, 'a');
    const detached = await addReference(id, 'b', true);
    const v2 = await createVersion(db, id, content('blue'));
    const v3 = await db.$transaction((tx) => writeVersion(tx, id, content('red'), { referenceIds: [detached.id] }));
    const links = async (versionId: string) => (await db.versionReference.findMany({ where: { versionId } })).map((l) => l.referenceId);
    expect(await links(v2.id)).toEqual([attached.id]);
    expect(await links(v3.id)).toEqual([detached.id]);
  });

  it('when an import keeps number and date without making it current, then those are kept and the current version stays', async () => {
    const character = await db.character.create({ data: { slug: 'history', name: 'History' } });
    const createdAt = new Date('2021-03-04T05:06:07.000Z');
    await db.$transaction(async (tx) => {
      await writeVersion(tx, character.id, content('black'), { number: 1, createdAt, makeCurrent: true });
      await writeVersion(tx, character.id, content('grey'), { number: 2, makeCurrent: false });
    });
    const versions = await db.characterVersion.findMany({ where: { characterId: character.id }, orderBy: { number: 'asc' } });
    expect(versions.map((v) => v.number)).toEqual([1, 2]);
    expect(versions[0].createdAt.toISOString()).toBe(createdAt.toISOString());
    expect((await db.character.findUniqueOrThrow({ where: { id: character.id } })).currentVersion).toBe(1);
  });

  it('when the character is archived, then character_archived (409) and nothing is written, unless archived ones are allowed', async () => {
    const { id } = await createCharacter(db, { slug: 'old', name: 'Old', version: content('black') });
    await db.character.update({ where: { id }, data: { archivedAt: new Date() } });
    const error = await createVersion(db, id, content('white')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CharacterDomainError);
    expect(error).toMatchObject({ code: 'character_archived', status: 409, details: { slug: 'old' } });
    expect(await db.characterVersion.count({ where: { characterId: id } })).toBe(1);

    const allowed = await db.$transaction((tx) => writeVersion(tx, id, content('white'), { allowArchived: true }));
    expect(allowed.number).toBe(2);
  });
});
