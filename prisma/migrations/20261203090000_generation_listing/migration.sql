-- GET /api/v1/generations lists newest first, across every generation or by project or character:
-- each order comes from an index, so a page costs its limit, not a sort of every generation (a
-- year's 300,000 rows: 2.6 s and 47,000 buffers a page by a sequential scan; 0.4 ms by these). By
-- status it already had one ("generation_jobs_status_createdAt_idx"); by source, the first index
-- is walked newest first (a producer's source holds a fair share of the rows).
CREATE INDEX "generation_jobs_createdAt_id_idx" ON "generation_jobs"("createdAt", "id");
CREATE INDEX "generation_jobs_project_createdAt_id_idx" ON "generation_jobs"("project", "createdAt", "id");
CREATE INDEX "generation_jobs_characterId_createdAt_id_idx" ON "generation_jobs"("characterId", "createdAt", "id");
