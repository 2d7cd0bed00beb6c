-- generation_queue_has_room (20261206090000) again, its count never a sequential scan of
-- generation_jobs. The planner picked one whenever the statistics had been taken while a key's
-- backlog was queued: the key's jobs then look mostly active (2,801 rows estimated in a reproduction
-- where none was), so a Seq Scan "stopped at the cap" looked cheaper than the index, and every new
-- generation read the whole table, finished jobs and dead row versions included, until the next
-- ANALYZE. Seen in a 1,000-job bench backlog: 367 buffers and 1.26 ms of PostgreSQL's CPU per
-- create, growing with the table, against 47 buffers reading the caller's queued and running rows
-- in the (apiKeyId, status) index. enable_seqscan = off holds inside the function only (its SET
-- clause is undone when it returns); every index and bitmap path stays open. Nothing else changes.
CREATE OR REPLACE FUNCTION generation_queue_has_room(lock_name text, api_key uuid, producer text, cap integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(lock_name));
  IF api_key IS NOT NULL THEN
    RETURN (SELECT count(*) FROM (
      SELECT 1 FROM generation_jobs WHERE "apiKeyId" = api_key AND status IN ('queued', 'running') LIMIT cap) AS active) < cap;
  END IF;
  RETURN (SELECT count(*) FROM (
    SELECT 1 FROM generation_jobs WHERE "apiKeyId" IS NULL AND source = producer AND status IN ('queued', 'running') LIMIT cap) AS active) < cap;
END
$$;
