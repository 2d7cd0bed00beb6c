import { lockCharacter, writeVersion, type Tx } from '@anime/characters';
import { sha256Hex } from '@anime/media';
import { assertRoomForBundle } from './bundle-room';
import type { ParsedBundle } from './parse-bundle';
import type { ImportTarget } from './resolve-import-target';
import { STORED_VERSION_CONTENT, storedVersionKey } from './stored-version-key';
import { versionContentKey } from './version-content-key';

export interface WrittenRows {
  versionsAdded: number[];
  referencesAdded: number;
}

/**
 * The rows of one import, inside the caller's transaction. A new character gets every version
 * under its own number and date. An existing one, locked first as every version writer does, gets
 * only versions whose content it lacks, appended as N+1, N+2, ...; references are matched by sha256.
 */
export async function writeBundleRows(tx: Tx, target: ImportTarget, bundle: ParsedBundle, paths: Map<string, string>): Promise<WrittenRows> {
  const fresh = target.kind === 'create';
  if (fresh) await tx.character.create({ data: { id: target.id, slug: target.slug, name: bundle.character.name, currentVersion: 0 } });
  // Locked before its references are written too; archiving may have happened since the target was chosen.
  await lockCharacter(tx, target.id);
  await assertRoomForBundle(tx, target, bundle);

  const referenceIds = new Map((await tx.characterReference.findMany({ where: { characterId: target.id }, select: { id: true, sha256: true } })).map((r) => [r.sha256, r.id]));
  let referencesAdded = 0;
  for (const { meta, decoded } of bundle.references) {
    if (referenceIds.has(meta.sha256)) continue;
    const path = paths.get(meta.sha256);
    if (!path) throw new Error(`reference ${meta.sha256} appeared on the character while its file was not written`);
    const row = await tx.characterReference.create({
      data: {
        characterId: target.id,
        label: meta.label,
        kind: meta.kind,
        path,
        sha256: meta.sha256,
        bytes: meta.bytes,
        width: decoded.width,
        height: decoded.height,
        mime: meta.mime,
        detachedAt: meta.detached ? new Date() : null,
        createdAt: new Date(meta.createdAt),
      },
    });
    referenceIds.set(meta.sha256, row.id);
    referencesAdded += 1;
  }

  const contents = fresh ? new Set<string>() : await storedContentKeys(tx, target.id);
  const linked = (shas: string[]) => shas.map((sha) => referenceIds.get(sha)!);
  const versionsAdded: number[] = [];
  for (const version of bundle.versions) {
    const key = sha256Hex(versionContentKey(version));
    if (!fresh && contents.has(key)) continue;
    contents.add(key);
    const written = await writeVersion(
      tx,
      target.id,
      version,
      // A version keeps its date only where it keeps its number: an appended one is new here.
      fresh
        ? { number: version.number, createdAt: version.createdAt, referenceIds: linked(version.referenceSha256s), makeCurrent: version.number === bundle.character.currentVersion }
        : { referenceIds: linked(version.referenceSha256s) },
    );
    versionsAdded.push(written.number);
  }
  return { versionsAdded, referencesAdded };
}

/** Versions read at once to compare: a few MB in memory, whatever the character holds. */
const VERSION_BATCH = 10;

/** The sha256 of each stored version's content key, read a batch at a time (a key is as long as its version). */
async function storedContentKeys(tx: Tx, characterId: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (let last = 0; ; ) {
    const batch = await tx.characterVersion.findMany({
      where: { characterId, number: { gt: last } },
      orderBy: { number: 'asc' },
      take: VERSION_BATCH,
      include: STORED_VERSION_CONTENT,
    });
    for (const version of batch) keys.add(sha256Hex(storedVersionKey(version)));
    if (batch.length < VERSION_BATCH) return keys;
    last = batch[batch.length - 1].number;
  }
}
