/**
 * Bounds on what other systems may put in a queue. A message is JSON in a Redis hash; one far
 * larger than any real request (a prompt is at most 4000 characters) is refused before it is
 * parsed against its schema, so no producer can make a worker spend unbounded time or memory.
 */
export const MAX_QUEUE_PAYLOAD_BYTES = 64 * 1024;

/** Why `webhook` in a request is refused until signed webhooks exist (REST 400 `not_supported`, queue: the job fails). */
export const WEBHOOKS_NOT_AVAILABLE = 'webhook: signed webhooks are not available yet; follow the generation over Socket.IO or poll it';
