-- GET /api/v1/generations?requestId= without `source` (a producer's idempotency key looked up across
-- every producer) had no index that starts with requestId: the whole (source, requestId) key was
-- read for the row or two it finds (300,000 generations: 908 buffers, 8-24 ms a page on a quiet
-- machine, 276 ms on a loaded one). By this index it is a lookup of the key's rows (9 buffers, 0.08 ms).
CREATE INDEX "generation_jobs_requestId_idx" ON "generation_jobs"("requestId");
