// Faults a stage throws that are not ComfyUI's or the character domain's. Each is mapped to its
// job error code in classify-fault.ts, and nowhere else.

/** A reference image of the job's character is gone from the library or no longer matches its sha256. */
export class ReferenceUnavailableError extends Error {
  readonly name = 'ReferenceUnavailableError';
  constructor(message: string, readonly details: { sha256: string; path: string }) {
    super(message);
  }
}

/** The request asks what no backend or template can give it (e.g. required references a template leaves unused). */
export class RequestUnsatisfiableError extends Error {
  readonly name = 'RequestUnsatisfiableError';
  constructor(message: string, readonly details?: unknown) {
    super(message);
  }
}

/** The prompt ran longer than JOB_TIMEOUT_S and was taken off the backend. */
export class PromptTimedOutError extends Error {
  readonly name = 'PromptTimedOutError';
}

/** The request names a workflow template that does not exist. */
export class WorkflowNotFoundError extends Error {
  readonly name = 'WorkflowNotFoundError';
  constructor(message: string, readonly details: { workflow: string; available: string[] }) {
    super(message);
  }
}

/** What ComfyUI produced cannot be filed (not an image, or a recorded output that is malformed). */
export class OutputUnreadableError extends Error {
  readonly name = 'OutputUnreadableError';
}

/** A stored JSON column or a queue message does not have the shape its schema declares. */
export class MalformedDataError extends Error {
  readonly name = 'MalformedDataError';
}

/** No configured backend can run the job (e.g. none has the checkpoint it needs). */
export class NoCapableBackendError extends Error {
  readonly name = 'NoCapableBackendError';
  constructor(message: string, readonly details?: unknown) {
    super(message);
  }
}

/**
 * The generation's state does not allow this stage to run (e.g. a completed generation's render
 * job was retried from a dashboard). The queue job fails with this reason; the generation is untouched.
 */
export class StageRefusedError extends Error {
  readonly name = 'StageRefusedError';
}


/**
 * The stage cannot go on in this process now and has begun nothing that outlives it (no write, no
 * prompt): the job goes back to its queue, delayed `delayMs`, its tries untouched and its
 * generation as it was, so the worker slot it held takes the job behind it. `onDelayed` is told once
 * the job is delayed, with what can promote it (bring it back before its delay ends).
 */
export class StageDeferredError extends Error {
  readonly name = 'StageDeferredError';
  constructor(
    message: string,
    readonly delayMs: number,
    readonly onDelayed?: (job: { promote(): Promise<void> }) => void,
    /**
     * The level of the job's "stage job deferred to its queue" line: debug for a deferral the
     * stage's own log already accounts for (a render job handed back again, which the orchestrator
     * counts in a summary line a minute), so a deep backlog does not write an info line per return.
     */
    readonly logAt: 'info' | 'debug' = 'info',
  ) {
    super(message);
  }
}
