import { rm } from 'node:fs/promises';
import path from 'node:path';
import { recordReferenceFileMissing } from '@anime/pipeline';
import { useImportedLegacy } from './legacy-fixture';

// The gateway (character detail, reference list, file route) and the orchestrator's staging mark a
// reference missing once its file is found gone (recordReferenceFileMissing). Re-running the legacy
// import is how a wiped library gets its files back: it writes the bytes with the row's sha256, so
// the mark it finds must go too, or the detail says `missing: true` of a file that is there.

const imported = useImportedLegacy('rvg-restore-mark');
const run = (dryRun = false) => imported.rerun({ dryRun });

describe('importLegacy re-run on a library that lost a reference file found missing since', () => {
  it('when the file was gone and marked missing, then a dry run leaves the mark and the re-run that puts the file back clears it', async () => {
    const { db } = imported;
    const sakura = await db.characterReference.findFirstOrThrow({ where: { label: 'Sakura' } });
    await rm(path.join(imported.libraryDir, sakura.path));
    expect(await recordReferenceFileMissing(db, sakura)).toBe(true);

    await run(true);
    expect((await db.characterReference.findUniqueOrThrow({ where: { id: sakura.id } })).missing).toBe(true);

    expect((await run()).restoredFiles).toEqual([sakura.path]);
    expect((await db.characterReference.findUniqueOrThrow({ where: { id: sakura.id } })).missing).toBe(false);
  });

  it('when the file is there intact but was marked while the library was away, then a re-run (which hashes it) clears the mark', async () => {
    const { db } = imported;
    const sakura = await db.characterReference.update({ where: { id: (await db.characterReference.findFirstOrThrow({ where: { label: 'Sakura' } })).id }, data: { missing: false } });
    expect(await recordReferenceFileMissing(db, sakura)).toBe(true);
    expect((await run()).restoredFiles).toEqual([]);
    expect((await db.characterReference.findUniqueOrThrow({ where: { id: sakura.id } })).missing).toBe(false);
  });
});
