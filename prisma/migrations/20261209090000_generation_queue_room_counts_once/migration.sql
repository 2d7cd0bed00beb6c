-- generation_queue_has_room (20261207090000) counts through generation_active_count
-- (20261208090000): the two held the same count of a key's (or a keyless producer's) queued and
-- running generations, each written out. The lock comes first, then the count in a statement of its
-- own, whose snapshot is taken after the lock as before (the STABLE count uses its caller's), so a
-- creation that waited for the lock still counts what the one before it committed. The count keeps
-- to the (apiKeyId, status) index inside generation_active_count (its SET enable_seqscan = off).
CREATE OR REPLACE FUNCTION generation_queue_has_room(lock_name text, api_key uuid, producer text, cap integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(lock_name));
  RETURN generation_active_count(api_key, producer, cap) < cap;
END
$$;
