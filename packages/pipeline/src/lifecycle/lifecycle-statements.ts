import type { StageQueueKey } from '@anime/contracts';
import { SQL_NOW, type Statement } from '@anime/db';
import { guard, insertEvents, jobColumns, RUNNING_IN_BACKEND, target } from './lifecycle-sql';
import { filingFenceKey } from './filing-fence';
import { generationRowSelect } from './load-generation';
import { RETRY_TRANSITION, type TransitionName } from './transitions';

/*
 * One statement per lifecycle change. The guarded UPDATE of generation_jobs comes first: it takes
 * the row lock (concurrent changes of one job queue there, and a waiting one re-checks the guard on
 * the row as committed, so a replay never moves a job twice), and it takes the event's seq from the
 * row it updates, so seqs have no gaps. Every other part runs only for the row it RETURNs.
 */

/** The columns of a generation that CREATE and FIND_BY_REQUEST return (JobLifecycle's CreatedJob). */
export const CREATED_JOB_FIELDS = ['id', 'source', 'requestId', 'correlationId', 'status', 'stage', 'priority', 'createdAt'] as const;
const createdJobColumns = (alias: string) => CREATED_JOB_FIELDS.map((c) => `${alias}."${c}"`).join(', ');

/** A new generation's values: $1 id, $2 source, $3 requestId, $4 correlationId, $5 apiKeyId, $6 stage, $7 priority, $8 request, $9 seed, $10-$13 project..shot, $14-$17 resolution. */
const NEW_JOB = `$1::uuid, $2::text, $3::text, $4::text, $5::uuid, 'queued', $6::"JobStage", $7::text, $8::jsonb, $9::bigint, $10::text, $11::text, $12::text, $13::text,
    $14::uuid, $15::uuid, $16::text, $17::jsonb, CASE WHEN $6::"JobStage" = 'resolved' THEN ${SQL_NOW} END, 1, ${SQL_NOW}, ${SQL_NOW}`;

/** Inserts `rows` (NEW_JOB's values, or none) as a generation with its job:queued event; returns the row inserted. */
const createFrom = (name: string, rows: string): Statement => ({
  name,
  text: `WITH j AS (
  INSERT INTO generation_jobs (id, source, "requestId", "correlationId", "apiKeyId", status, stage, priority, request, seed, project, episode, scene, shot,
    "characterId", "characterVersionId", outfit, conditioning, "resolvedAt", "eventSeq", "createdAt", "updatedAt")
  ${rows}
  ON CONFLICT (source, "requestId") DO NOTHING
  RETURNING ${createdJobColumns('generation_jobs')}
), e AS (
  ${insertEvents(`SELECT j.id AS "jobId", 1 AS seq, 'job:queued' AS type, jsonb_build_object('jobId', j.id) AS payload FROM j`)}
)
SELECT * FROM j`,
});

/** NEW_JOB's values: $1..$17. */
export const CREATE: Statement = createFrom('lifecycle-create', `VALUES (${NEW_JOB})`);

/**
 * CREATE ($1..$17), only while its caller (its key $5, or without one its producer $2) has fewer
 * than $19 generations queued or running; else nothing is written and no row is returned. One
 * statement, exact: generation_queue_has_room (a migration's function) takes the caller's queue lock
 * $18 (queueLockOf) for the statement's transaction, then counts with a snapshot taken after it was
 * granted, so it sees all that the lock's earlier holders committed.
 */
export const CREATE_WITHIN_CAP: Statement = createFrom(
  'lifecycle-create-within-cap',
  `SELECT ${NEW_JOB} WHERE generation_queue_has_room($18::text, $5::uuid, $2::text, $19::int)`,
);

/** $1 id: whose share of the queue the generation counts in (its key; keyless, its producer), and whether it could be re-opened (failed or canceled). */
export const OWNER_OF: Statement = {
  name: 'lifecycle-owner-of',
  text: `SELECT "apiKeyId", source, status IN ('failed', 'canceled') AS reopenable FROM generation_jobs WHERE id = $1::uuid`,
};

/**
 * $1 the key (keyed) or the producer (keyless), $2 the cap: its generations queued or running,
 * counted up to the cap in generation_active_count (a migration's function), on the (apiKeyId,
 * status) index whatever the statistics say (a count written here was read as a whole-table scan
 * under statistics taken while a backlog was queued).
 */
export const ACTIVE_OF: Record<'keyed' | 'keyless', Statement> = {
  keyed: { name: 'lifecycle-active-of-key', text: `SELECT generation_active_count($1::uuid, NULL, $2::int) AS active` },
  keyless: { name: 'lifecycle-active-keyless', text: `SELECT generation_active_count(NULL, $1::text, $2::int) AS active` },
};

export const FIND_BY_REQUEST: Statement = {
  name: 'lifecycle-find-by-request',
  text: `SELECT ${createdJobColumns('g')} FROM generation_jobs g WHERE g.source = $1 AND g."requestId" = $2`,
};

/** $1 id, $2 characterId, $3 characterVersionId, $4 outfit, $5 conditioning. */
export const RESOLVE: Statement = {
  name: 'lifecycle-resolve',
  text: `UPDATE generation_jobs SET ${target('resolve')}, "characterId" = $2::uuid, "characterVersionId" = $3::uuid, outfit = $4, conditioning = $5::jsonb,
  "resolvedAt" = ${SQL_NOW}, "updatedAt" = ${SQL_NOW}
WHERE id = $1::uuid AND ${guard('resolve')}
RETURNING id`,
};

/** The next attempt's number, for the row j RETURNed. */
const numbered = `n AS (SELECT j.*, (SELECT count(*) FROM job_attempts WHERE "jobId" = j.id)::int + 1 AS number FROM j)`;
const openAttempt = `a AS (
  INSERT INTO job_attempts (id, "jobId", number, backend, "promptId", workflow, "submittedAt")
  SELECT gen_random_uuid(), n.id, n.number, $2::text, $3::text, $4::jsonb, ${SQL_NOW} FROM n
)`;

/**
 * Whether the backend ($2, its URL) is marked draining (the gateway's drain). A prompt is never
 * recorded for a draining backend: the check is part of the statement that records it, so a drain
 * committed before it is always seen, whatever the orchestrator's cached flags said.
 */
const drainingBackend = `d AS (SELECT EXISTS (SELECT 1 FROM backends WHERE url = $2::text AND draining) AS draining)`;
/** One row: the recorded attempt's seq and number (null when nothing was recorded), and whether the backend drains. */
const recordedOrDraining = `SELECT n."eventSeq" AS seq, n.source, n."requestId", n.number, d.draining FROM d LEFT JOIN n ON true`;

/**
 * $1 id, $2 backend, $3 promptId, $4 workflow, $5 referenceUse, $6 submitted payload. The graph ($4,
 * a few KB) is written once, on the attempt's row: the job's row, rewritten by every later change of
 * the job, does not carry a copy (its latest attempt's is read in its place: load-generation.ts).
 */
export const SUBMIT: Statement = {
  name: 'lifecycle-submit',
  text: `WITH ${drainingBackend}, j AS (
  UPDATE generation_jobs SET ${target('submit')}, backend = $2::text, "promptId" = $3::text, "referenceUse" = $5::jsonb,
    "startedAt" = ${SQL_NOW}, "updatedAt" = ${SQL_NOW}, "eventSeq" = "eventSeq" + 1
  WHERE id = $1::uuid AND ${guard('submit')} AND NOT (SELECT draining FROM d)
  RETURNING id, "eventSeq", source, "requestId"
), ${numbered}, ${openAttempt}, e AS (
  ${insertEvents(`SELECT n.id AS "jobId", n."eventSeq" AS seq, 'job:submitted' AS type, $6::jsonb || jsonb_build_object('attempt', n.number) AS payload FROM n`)}
)
${recordedOrDraining}`,
};

/** $1 id, $2 seq: an attempt's job:submitted, out of the story again (ComfyUI refused its prompt). */
export const WITHDRAW_SUBMITTED: Statement = {
  name: 'lifecycle-withdraw-submitted',
  text: `DELETE FROM job_events WHERE "jobId" = $1::uuid AND seq = $2::int AND type = 'job:submitted' RETURNING id`,
};

/**
 * $1-$5 as SUBMIT, $6 the ended attempt's error, $7 retrying payload, $8 submitted payload. The ended
 * attempt's progress goes with it: the new attempt starts from none, and a tick of the old one stored
 * late (PROGRESS_LATEST, under a seq reserved before) is refused, its seq now below "progressSeq".
 */
export const RESUBMIT: Statement = {
  name: 'lifecycle-resubmit',
  text: `WITH ${drainingBackend}, j AS (
  UPDATE generation_jobs SET ${target('resubmit')}, backend = $2::text, "promptId" = $3::text, "referenceUse" = $5::jsonb,
    "progressValue" = NULL, "progressMax" = NULL, "progressNode" = NULL, "progressSeq" = "eventSeq" + 2,
    "updatedAt" = ${SQL_NOW}, "eventSeq" = "eventSeq" + 2
  WHERE id = $1::uuid AND ${guard('resubmit')} AND NOT (SELECT draining FROM d)
  RETURNING id, "eventSeq", source, "requestId"
), ended AS (
  UPDATE job_attempts t SET "finishedAt" = ${SQL_NOW}, error = $6::jsonb FROM j WHERE t."jobId" = j.id AND t."finishedAt" IS NULL
), ${numbered}, ${openAttempt}, e AS (
  ${insertEvents(`SELECT n.id AS "jobId", n."eventSeq" - 1 AS seq, 'job:retrying' AS type, $7::jsonb || jsonb_build_object('attempt', n.number) AS payload FROM n
    UNION ALL SELECT n.id, n."eventSeq", 'job:submitted', $8::jsonb || jsonb_build_object('attempt', n.number) FROM n`)}
)
${recordedOrDraining}`,
};

/**
 * The start of STARTED and STARTED_WITH_PROGRESS ($1 id, $2 promptId): j locks the job row while it
 * is submitted; t marks its open attempt for that prompt started, if not yet.
 */
const MARK_STARTED = `WITH j AS MATERIALIZED (
  SELECT id FROM generation_jobs WHERE id = $1::uuid AND ${RUNNING_IN_BACKEND} FOR UPDATE
), t AS (
  UPDATE job_attempts t SET "startedAt" = ${SQL_NOW} FROM j
  WHERE t.id = (SELECT id FROM job_attempts WHERE "jobId" = $1::uuid AND "promptId" = $2 AND "startedAt" IS NULL AND "finishedAt" IS NULL ORDER BY number LIMIT 1)
    AND t."jobId" = j.id AND t."startedAt" IS NULL AND t."finishedAt" IS NULL
  RETURNING t."jobId", t.backend, t.number
)`;

/**
 * $1 id, $2 promptId, $3 started payload, $4 seqs reserved for the prompt's ticks (≥ 0, see
 * PROGRESS). Not a transition: the job row is locked first (as every transition does, so this never
 * deadlocks with one), then the open attempt is marked, then the seq taken only if it was (a late or
 * repeated notice records nothing and leaves no gap); job:started takes the first, the ticks the $4
 * after it.
 */
export const STARTED: Statement = {
  name: 'lifecycle-started',
  text: `${MARK_STARTED}, s AS (
  UPDATE generation_jobs g SET "eventSeq" = g."eventSeq" + 1 + $4::int FROM t WHERE g.id = t."jobId"
  RETURNING g.id, g."eventSeq" - $4::int AS "eventSeq", g.source, g."requestId", t.backend, t.number
), e AS (
  ${insertEvents(`SELECT s.id AS "jobId", s."eventSeq" AS seq, 'job:started' AS type, $3::jsonb || jsonb_build_object('backend', s.backend, 'attempt', s.number) AS payload FROM s`)}
)
SELECT "eventSeq" AS seq, source, "requestId", backend, number FROM s`,
};

/**
 * $1 id, $2 promptId, $3 started payload, $4 value, $5 max, $6 node, $7 seqs reserved for ticks (≥ 1):
 * STARTED and PROGRESS in one statement, for a first tick that came before the started notice was
 * written. The row is locked first as in STARTED; the open attempt is marked started if the notice
 * applies, and the one UPDATE of the job row takes its seq (job:started) and the tick's, the first
 * of the $7 seqs reserved for this prompt's ticks (see PROGRESS).
 */
export const STARTED_WITH_PROGRESS: Statement = {
  name: 'lifecycle-started-with-progress',
  text: `${MARK_STARTED}, s AS (
  UPDATE generation_jobs g SET "eventSeq" = g."eventSeq" + (SELECT count(*) FROM t)::int + $7::int, "progressSeq" = g."eventSeq" + 1 + (SELECT count(*) FROM t)::int,
    "progressValue" = $4::int, "progressMax" = $5::int, "progressNode" = $6::text, "updatedAt" = ${SQL_NOW}
  FROM j WHERE g.id = j.id
  RETURNING g.id, g."progressSeq", g.source, g."requestId"
), e AS (
  ${insertEvents(`SELECT s.id AS "jobId", s."progressSeq" - 1 AS seq, 'job:started' AS type, $3::jsonb || jsonb_build_object('backend', t.backend, 'attempt', t.number) AS payload FROM s, t`)}
)
SELECT s."progressSeq" AS seq, s.source, s."requestId", t.backend, t.number FROM s LEFT JOIN t ON true`,
};

/**
 * $1 id, $2 value, $3 max, $4 node, $5 seqs reserved (≥ 1). Only the latest tick is kept, with its
 * seq; no stored event. The tick takes the first of $5 seqs: the process that follows the prompt
 * gives the rest to its next ticks itself, publishing them before PROGRESS_LATEST stores the latest
 * (the job's next event is numbered after all of them, so seqs still only increase).
 */
export const PROGRESS: Statement = {
  name: 'lifecycle-progress',
  text: `UPDATE generation_jobs
SET "eventSeq" = "eventSeq" + $5::int, "progressSeq" = "eventSeq" + 1, "progressValue" = $2::int, "progressMax" = $3::int, "progressNode" = $4::text, "updatedAt" = ${SQL_NOW}
WHERE id = $1::uuid AND ${RUNNING_IN_BACKEND}
RETURNING "progressSeq" AS seq`,
};

/** `seq` (a parameter) is a reserved seq (taken by PROGRESS, at most eventSeq) newer than the stored tick's. */
const newerReservedSeq = (seq: string) => `COALESCE("progressSeq", 0) < ${seq} AND ${seq} <= "eventSeq"`;

/**
 * $1 id, $2 seq, $3 value, $4 max, $5 node: stores a tick published under a seq PROGRESS reserved,
 * unless a later one is stored already or the job no longer runs there.
 */
export const PROGRESS_LATEST: Statement = {
  name: 'lifecycle-progress-latest',
  text: `UPDATE generation_jobs
SET "progressSeq" = $2::int, "progressValue" = $3::int, "progressMax" = $4::int, "progressNode" = $5::text, "updatedAt" = ${SQL_NOW}
WHERE id = $1::uuid AND ${RUNNING_IN_BACKEND} AND ${newerReservedSeq('$2::int')}
RETURNING id`,
};

/** A tick published under a reserved seq ($n seq, then value, max, node) stored with another change, as PROGRESS_LATEST would. */
const latestTick = (n: number) => {
  const newer = `$${n}::int IS NOT NULL AND ${newerReservedSeq(`$${n}::int`)}`;
  const column = (name: string, value: string) => `"${name}" = CASE WHEN ${newer} THEN ${value} ELSE "${name}" END`;
  return [column('progressSeq', `$${n}::int`), column('progressValue', `$${n + 1}::int`), column('progressMax', `$${n + 2}::int`), column('progressNode', `$${n + 3}::text`)].join(', ');
};

/** $1 id, $2 outputs, $3-$6 the prompt's latest tick not stored yet (seq, value, max, node; all null without one). Refused once a cancel was requested. */
export const RENDER: Statement = {
  name: 'lifecycle-render',
  text: `WITH j AS (
  UPDATE generation_jobs SET ${target('render')}, outputs = $2::jsonb, ${latestTick(3)}, "updatedAt" = ${SQL_NOW}
  WHERE id = $1::uuid AND ${guard('render')} AND "cancelRequestedAt" IS NULL
  RETURNING id
), ended AS (
  UPDATE job_attempts t SET "finishedAt" = ${SQL_NOW} FROM j WHERE t."jobId" = j.id AND t."finishedAt" IS NULL
)
SELECT id FROM j`,
};

/**
 * The filing try $n names owns the filing (CLAIM_FILING): none claimed it when $n is null. Part of
 * every statement that records a filing, so a try another one took over records nothing.
 */
const ownsFiling = (n: number) => `"filingToken" IS NOT DISTINCT FROM $${n}::uuid`;

/** The filing fence of $1 is free (no removal of its files holds it), tried shared for the statement's transaction. */
const FENCE_FREE = `fence AS MATERIALIZED (SELECT pg_try_advisory_xact_lock_shared(${filingFenceKey('$1')}) AS free)`;

/**
 * $1 id, $2 the try's token. Not a transition: a filing try takes the rendered job's filing over
 * (from any earlier try) before it writes a file, so an earlier try still running (its queue job
 * handed to another instance) sees it no longer owns the paths both write. Refused while a removal
 * of the job's files holds its filing fence (filing-fence.ts): `fenced` says so, for a job awaiting filing.
 */
export const CLAIM_FILING: Statement = {
  name: 'lifecycle-claim-filing',
  text: `WITH ${FENCE_FREE}, claim AS (
  UPDATE generation_jobs SET "filingToken" = $2::uuid WHERE id = $1::uuid AND ${guard('file')} AND (SELECT free FROM fence) RETURNING id
)
SELECT EXISTS (SELECT 1 FROM claim) AS claimed,
  NOT (SELECT free FROM fence) AND EXISTS (SELECT 1 FROM generation_jobs WHERE id = $1::uuid AND ${guard('file')}) AS fenced`,
};

/**
 * $1 id, $2 the try's token: CLAIM_FILING and the generation's row as loadGeneration reads it, in one
 * statement (the filing stage's read of the row it admits). `claimed` says whether the claim applied
 * (not while the filing is fenced): the row is then the one the claim wrote, else the row as the
 * statement's snapshot holds it.
 */
export const CLAIM_FILING_AND_LOAD: Statement = {
  name: 'lifecycle-claim-filing-and-load',
  text: `WITH ${FENCE_FREE}, claim AS (
  UPDATE generation_jobs SET "filingToken" = $2::uuid WHERE id = $1::uuid AND ${guard('file')} AND (SELECT free FROM fence) RETURNING ${jobColumns('generation_jobs')}
), j AS (
  SELECT claim.*, true AS claimed FROM claim
  UNION ALL
  SELECT ${jobColumns('g')}, false FROM generation_jobs g WHERE g.id = $1::uuid AND NOT EXISTS (SELECT 1 FROM claim)
)
${generationRowSelect('j', 'j', ', j.claimed')}`,
};

/** $1 id, $2 completed payload, $3 the filing try's token (null: unclaimed). */
export const FILE: Statement = {
  name: 'lifecycle-file',
  text: `WITH j AS (
  UPDATE generation_jobs SET ${target('file')}, "finishedAt" = ${SQL_NOW}, "updatedAt" = ${SQL_NOW}, "eventSeq" = "eventSeq" + 1
  WHERE id = $1::uuid AND ${guard('file')} AND ${ownsFiling(3)}
  RETURNING id, "eventSeq", source, "requestId"
), e AS (
  ${insertEvents(`SELECT j.id AS "jobId", j."eventSeq" AS seq, 'job:completed' AS type, $2::jsonb AS payload FROM j`)}
)
SELECT "eventSeq" AS seq, source, "requestId" FROM j`,
};

/**
 * $1 id, $2 completed payload, $3 the Asset rows of its outputs (a JSON array of `assets` rows), $4
 * the filing try's token (null: unclaimed). The `file` transition and its Asset rows in one
 * statement: both land, or (guard refused, crash) neither. Refused too while the job has Asset rows
 * already (a filing that recorded them one by one), whose caller records over them; `earlier` counts them.
 */
export const FILE_WITH_ASSETS: Statement = {
  name: 'lifecycle-file-with-assets',
  text: `WITH earlier AS (
  SELECT count(*)::int AS n FROM assets WHERE "jobId" = $1::uuid
), j AS (
  UPDATE generation_jobs SET ${target('file')}, "finishedAt" = ${SQL_NOW}, "updatedAt" = ${SQL_NOW}, "eventSeq" = "eventSeq" + 1
  WHERE id = $1::uuid AND ${guard('file')} AND ${ownsFiling(4)} AND (SELECT n FROM earlier) = 0
  RETURNING id, "eventSeq", source, "requestId"
), a AS (
  INSERT INTO assets (id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, status, project, episode, scene, shot, metadata, "createdAt")
  SELECT r.id, j.id, r."characterVersionId", r."sourceKey", r.path, r.sha256, r.bytes, r.width, r.height, r.mime, r.status, r.project, r.episode, r.scene, r.shot, r.metadata, r."createdAt"
  FROM j, jsonb_to_recordset($3::jsonb) AS r(id uuid, "characterVersionId" uuid, "sourceKey" text, path text, sha256 text, bytes int, width int, height int, mime text,
    status text, project text, episode text, scene text, shot text, metadata jsonb, "createdAt" timestamp(3))
), e AS (
  ${insertEvents(`SELECT j.id AS "jobId", j."eventSeq" AS seq, 'job:completed' AS type, $2::jsonb AS payload FROM j`)}
)
SELECT earlier.n AS earlier, j."eventSeq" AS seq, j.source, j."requestId" FROM earlier LEFT JOIN j ON true`,
};

/**
 * $1 id, $2 errorCode, $3 errorMessage, $4 whether errorDetails is given, $5 errorDetails, $6 the
 * open attempt's error, $7 the event's payload. Shared by fail and both cancels; `also`, a further guard.
 */
const ending = (name: 'fail' | 'cancel' | 'cancelAtOnce', event: 'job:failed' | 'job:canceled', also = ''): Statement => ({
  name: `lifecycle-${name}`,
  text: `WITH j AS (
  UPDATE generation_jobs SET ${target(name)}, "finishedAt" = ${SQL_NOW}, "errorCode" = $2::text, "errorMessage" = $3::text,
    "errorDetails" = CASE WHEN $4::boolean THEN $5::jsonb ELSE "errorDetails" END, "updatedAt" = ${SQL_NOW}, "eventSeq" = "eventSeq" + 1
  WHERE id = $1::uuid AND ${guard(name)}${also}
  RETURNING id, "eventSeq", source, "requestId"
), ended AS (
  UPDATE job_attempts t SET "finishedAt" = ${SQL_NOW}, error = $6::jsonb FROM j WHERE t."jobId" = j.id AND t."finishedAt" IS NULL
), e AS (
  ${insertEvents(`SELECT j.id AS "jobId", j."eventSeq" AS seq, '${event}' AS type, $7::jsonb AS payload FROM j`)}
)
SELECT "eventSeq" AS seq, source, "requestId" FROM j`,
});
/**
 * $8 a seq of the generation, or null. Given, the failure is recorded only if the generation has not
 * ended since (no job:completed, job:failed nor job:canceled after that seq): still in the run that seq
 * is of. A stage job that could not learn whether its failure landed (the statement outlived its
 * caller's timeout) records it again with the seq it was admitted at: a failure that landed meanwhile
 * is not recorded twice, nor is a run re-opened since (a REST retry) failed for the run before it.
 */
export const FAIL = ending(
  'fail',
  'job:failed',
  ` AND ($8::int IS NULL OR NOT EXISTS (SELECT 1 FROM job_events e WHERE e."jobId" = $1::uuid AND e.seq > $8::int AND e.type IN ('job:completed', 'job:failed', 'job:canceled')))`,
);
export const CANCEL = ending('cancel', 'job:canceled');
export const CANCEL_AT_ONCE = ending('cancelAtOnce', 'job:canceled');

/** $1 id. Recorded (again) while the prompt is in a backend. */
export const REQUEST_CANCEL: Statement = {
  name: 'lifecycle-request-cancel',
  text: `UPDATE generation_jobs SET "cancelRequestedAt" = COALESCE("cancelRequestedAt", ${SQL_NOW}), "updatedAt" = ${SQL_NOW}
WHERE id = $1::uuid AND ${RUNNING_IN_BACKEND}
RETURNING id`,
};

export const STAGE_OF: Statement = {
  name: 'lifecycle-stage-of',
  // outputGone: its filing failed on ComfyUI's 404 for an output file (a temp file cleared at a restart, a file deleted).
  text: `SELECT stage, ("errorCode" = 'filing_failed' AND "errorDetails"->>'status' = '404' AND "errorDetails"->>'request' LIKE 'GET /view%') AS "outputGone"
FROM generation_jobs WHERE id = $1::uuid`,
};

/**
 * The most events one generation may have before it can no longer be re-opened: each retry adds a
 * few (retrying, submitted, started, the end), and every Socket.IO subscribe replays them all, so a
 * cancel-and-retry loop must not grow one generation's history without end. A few hundred retries.
 */
export const MAX_GENERATION_EVENTS = 1_000;

/**
 * The generation's stored events (job_events, what a subscribe replays) are fewer than the cap.
 * Counted, not read from "eventSeq": that also counts the seqs progress reserves (one per sampler
 * step, never stored), which a single long render takes past the cap.
 */
const historyBelowCap = (id: string) => `(SELECT count(*) FROM job_events WHERE "jobId" = ${id}) < ${MAX_GENERATION_EVENTS}`;

/**
 * $1 id, $2 retrying payload, $3 a new seed or null. Re-opens a failed or canceled generation at
 * the stage `queue` runs, clearing its error; filing again reuses the recorded render (no new
 * attempt, progress kept), the other stages lead to a new render attempt.
 */
const reopen = (queue: StageQueueKey, name: TransitionName = RETRY_TRANSITION[queue]): Statement => {
  const filing = queue === 'assetFiling';
  return {
    name: `lifecycle-${name}`,
    text: `WITH j AS (
  UPDATE generation_jobs SET ${target(name)}, "finishedAt" = NULL, "errorCode" = NULL, "errorMessage" = NULL, "errorDetails" = NULL, "cancelRequestedAt" = NULL,
    ${filing ? '' : '"progressValue" = NULL, "progressMax" = NULL, "progressNode" = NULL,'}${name === 'rerender' ? ' outputs = NULL,' : ''}
    seed = COALESCE($3::bigint, seed), request = CASE WHEN $3::bigint IS NULL THEN request ELSE request || jsonb_build_object('seed', $3::bigint) END,
    "updatedAt" = ${SQL_NOW}, "eventSeq" = "eventSeq" + 1
  WHERE id = $1::uuid AND ${guard(name)} AND ${historyBelowCap('$1::uuid')}
  RETURNING id, "eventSeq", source, "requestId"
), n AS (
  SELECT j.*, (SELECT count(*) FROM job_attempts WHERE "jobId" = j.id)::int + ${filing ? 0 : 1} AS attempt FROM j
), e AS (
  ${insertEvents(`SELECT n.id AS "jobId", n."eventSeq" AS seq, 'job:retrying' AS type, $2::jsonb || jsonb_build_object('attempt', n.attempt) AS payload FROM n`)}
)
SELECT "eventSeq" AS seq, source, "requestId", attempt FROM n`,
  };
};
export const REOPEN: Record<StageQueueKey, Statement> = {
  generationRequests: reopen('generationRequests'),
  generationRenders: reopen('generationRenders'),
  assetFiling: reopen('assetFiling'),
};
/** $1..$3 as REOPEN's: a generation stopped at filing goes back to its render (a new seed asks for a new image). */
export const RERENDER: Statement = reopen('generationRenders', 'rerender');
