import { rm } from 'node:fs/promises';
import path from 'node:path';
import { collectingLog, useImportedLegacy } from './legacy-fixture';

// A re-run of the legacy import puts back reference files gone from the library at the path each row
// records. A row recording a path outside the library (an old or hand-edited one; the gateway's file
// route answers 409 reference_path_invalid for it, and its bundle restore skips it) threw
// UnsafeLibraryPathError: the whole character reported failed, its other files not put back.

const imported = useImportedLegacy('fixh-restore-outside');

describe('importLegacy re-run where a reference row records a path outside the library', () => {
  it.each(['../outside/sakura.png', '/tmp/fixh-outside-sakura.png'])('when the row records %s, then the character is not failed: that row is left alone with a warning (nothing written there, its mark kept), and the others are put back', async (outside) => {
    const { db, libraryDir } = imported;
    const references = await db.characterReference.findMany({ orderBy: { label: 'asc' } });
    const sakura = references.find((r) => r.label === 'Sakura')!;
    const other = references.find((r) => r.characterId === sakura.characterId && r.id !== sakura.id) ?? references.find((r) => r.id !== sakura.id)!;
    const inside = sakura.path;
    await db.characterReference.update({ where: { id: sakura.id }, data: { path: outside, missing: true } });
    await rm(path.join(libraryDir, other.path));
    try {
      const log = collectingLog();
      const report = await imported.rerun({ log });
      // Before: UnsafeLibraryPathError, the character reported failed.
      expect(report.failed).toBe(false);
      expect(report.characters.every((c) => c.status === 'already_imported')).toBe(true);
      expect(report.restoredFiles).toEqual([other.path]);
      expect(report.warnings).toEqual([expect.stringContaining(`reference ${sakura.id}`)]);
      expect(report.warnings[0]).toContain('outside the library');
      expect(log.lines).toContainEqual(expect.stringMatching(/^warn: .*outside the library/));
      const row = await db.characterReference.findUniqueOrThrow({ where: { id: sakura.id } });
      expect({ path: row.path, missing: row.missing }).toEqual({ path: outside, missing: true });
      const { stat } = await import('node:fs/promises');
      await expect(stat(path.resolve(libraryDir, outside))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await db.characterReference.update({ where: { id: sakura.id }, data: { path: inside, missing: false } });
    }
  });
});
