-- The other counts of generation_jobs, kept on their indexes as generation_queue_has_room's count
-- (20261207090000) is. Under statistics taken while a backlog was queued the planner read each as a
-- sequential scan of the whole table "stopped at the cap" (custom and generic plans alike), long
-- after the backlog had finished: the gateway's queue room (MAX_QUEUE_DEPTH's waiting count and the
-- key's queued and running), read with the key on every POST /generations, the retry path's count of
-- its owner's, and /readyz's depth. Each is now one of these functions, whose SET enable_seqscan = off
-- holds inside it only (every index and bitmap path stays open). STABLE: they count with the calling
-- statement's snapshot, as the subqueries they replace did.

-- Generations waiting (queued), every key together, on (status, createdAt); counted up to `cap` (null: all).
CREATE FUNCTION generation_queue_depth(cap integer)
RETURNS integer
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
AS $$
BEGIN
  RETURN (SELECT count(*) FROM (SELECT 1 FROM generation_jobs WHERE status = 'queued' LIMIT cap) AS waiting);
END
$$;

-- A key's generations queued or running (`api_key`), or with no key the keyless ones of `producer`,
-- on (apiKeyId, status); counted up to `cap`.
CREATE FUNCTION generation_active_count(api_key uuid, producer text, cap integer)
RETURNS integer
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
AS $$
BEGIN
  IF api_key IS NOT NULL THEN
    RETURN (SELECT count(*) FROM (
      SELECT 1 FROM generation_jobs WHERE "apiKeyId" = api_key AND status IN ('queued', 'running') LIMIT cap) AS active);
  END IF;
  RETURN (SELECT count(*) FROM (
    SELECT 1 FROM generation_jobs WHERE "apiKeyId" IS NULL AND source = producer AND status IN ('queued', 'running') LIMIT cap) AS active);
END
$$;
