-- GET /api/v1/generations?character=kai@2 (the generations made with one version of a character):
-- without an index that starts with the version, a page walked every generation of the character
-- newest first to find the version's (20,000 generations, 10 of them of version 2: all 20,000 read).
CREATE INDEX "generation_jobs_characterVersionId_createdAt_id_idx" ON "generation_jobs"("characterVersionId", "createdAt", "id");
