/**
 * Bounds on what other systems may put in a queue. A message is JSON in a Redis hash; one far
 * larger than any real request (a prompt is at most 4000 characters) is refused before it is
 * parsed against its schema, so no producer can make a worker spend unbounded time or memory.
 */
export const MAX_QUEUE_PAYLOAD_BYTES = 64 * 1024;

/**
 * Why a request's `webhook.url` is refused (REST 400 `webhook_not_registered`, queue: the job fails):
 * it is delivered through, and signed with the secret of, an endpoint registered at that exact URL.
 */
export const webhookNotRegistered = (url: string) =>
  `webhook: ${url.slice(0, 200)} is not a registered webhook endpoint reaching this project; register it first (POST /api/v1/webhooks), its secret signs the deliveries`;
