-- MAX_QUEUED_PER_KEY held exactly in one statement: whether a caller (an API key, or with no key a
-- producer's keyless generations) has fewer than `cap` generations queued or running, counted after
-- taking the caller's transaction-scoped advisory lock, `lock_name` (JobLifecycle's queueLockOf).
-- VOLATILE, so under READ COMMITTED its count takes a fresh snapshot once the lock is granted: it
-- sees every generation that earlier holders of the lock committed, although the INSERT calling it
-- began before. The lock is held until that statement's transaction ends, so racing creators, in any
-- process on the database, pass the count one at a time: without a transaction of three round trips
-- (BEGIN and the lock, the insert, COMMIT). Each count reads the caller's range of the
-- (apiKeyId, status) index, stopped at the cap.
CREATE OR REPLACE FUNCTION generation_queue_has_room(lock_name text, api_key uuid, producer text, cap integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
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
