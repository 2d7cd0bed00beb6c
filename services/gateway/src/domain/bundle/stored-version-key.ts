import { attributesRecord } from '@anime/characters';
import type { CharacterAttribute, CharacterVersion } from '@anime/db';
import { isBundleable } from './bundle-format';
import { versionContentKey } from './version-content-key';

/** What to load with a stored version to compare its content with a bundle's. */
export const STORED_VERSION_CONTENT = {
  attributes: true,
  references: { include: { reference: { select: { sha256: true, missing: true, mime: true } } } },
} as const;

export type StoredVersion = CharacterVersion & {
  attributes: CharacterAttribute[];
  references: { reference: { sha256: string; missing: boolean; mime: string } }[];
};

/** The content key of a stored version, counting only the references a bundle can carry. */
export function storedVersionKey(version: StoredVersion): string {
  return versionContentKey({
    definition: version.definition,
    attributes: attributesRecord(version.attributes),
    referenceSha256s: version.references.map((link) => link.reference).filter(isBundleable).map((r) => r.sha256),
  });
}
