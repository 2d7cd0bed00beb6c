import { z } from 'zod';
import { isStorableText, STORABLE_TEXT_MESSAGE } from './safe-text';
import { hasUrlCredentials } from './url-credentials';

/** The terminal lifecycle events a webhook endpoint can ask for, by their webhook type names. */
export const WEBHOOK_EVENT_TYPES = ['generation.completed', 'generation.failed', 'generation.canceled'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The terminal job event (generation-events stream) behind each webhook type. */
export const WEBHOOK_TYPE_OF_EVENT: Record<string, WebhookEventType | undefined> = {
  'job:completed': 'generation.completed',
  'job:failed': 'generation.failed',
  'job:canceled': 'generation.canceled',
};

// `protocol` is checked on the parsed URL, which JSON Schema cannot say; the pattern says it in the
// published schemas too (no `i` flag there, hence the classes). The URL parser percent-encodes NUL
// and lone surrogates, but the string stored is the one sent, so it must be storable text itself.
const HTTP_URL = /^[Hh][Tt][Tt][Pp][Ss]?:\/\//;
// No user name or password: an endpoint's URL is listed to its key and to admins (every key's), logged
// and copied into generations' requests, so a password there would be shown to all of them. Standard
// Webhooks' signature is how a receiver knows the sender. The pattern (no `@` before the host ends) says
// it in the published schemas; the refine, on the parsed URL, is the exact rule.
// The look-ahead makes the slashes after the scheme all taken: else one `/` of `//` was enough for the
// pattern to match any URL, `https://u:p@h` too.
const NO_CREDENTIALS = /^[^:]*:[\/\\]*(?![\/\\])[^@\/\\?#]*(?:[\/\\?#]|$)/;
const NO_CREDENTIALS_MESSAGE = 'must not hold a user name or password (the webhook-signature header authenticates deliveries)';

/** An http(s) URL that a webhook endpoint is registered at (and a request's `webhook.url` names). */
export const webhookUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL', abort: true })
  .max(2000)
  .regex(HTTP_URL, 'must be an http(s) URL')
  .regex(NO_CREDENTIALS, { message: NO_CREDENTIALS_MESSAGE, abort: true })
  .refine((url) => !hasUrlCredentials(url), { message: NO_CREDENTIALS_MESSAGE, abort: true })
  .refine(isStorableText, { message: STORABLE_TEXT_MESSAGE })
  .meta({ format: 'uri' });

/**
 * The most live endpoints one API key may hold (AUTH_MODE=off's local caller counts as one key):
 * every event is offered to each endpoint it matches, so their number bounds the work an event costs.
 */
export const MAX_WEBHOOKS_PER_KEY = 100;

export const createWebhookBodySchema = z
  .object({
    url: webhookUrlSchema.describe('where events are POSTed: http(s), without a user name or password (the webhook-signature header authenticates deliveries); private, loopback and link-local addresses are refused unless WEBHOOK_ALLOW lists them'),
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .min(1, 'name at least one event')
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((events) => new Set(events).size === events.length, 'each event at most once')
      .describe('the events delivered to this endpoint'),
  })
  .strict()
  .meta({ id: 'CreateWebhook' });
export type CreateWebhookBody = z.infer<typeof createWebhookBodySchema>;

export const webhookResourceSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    projects: z.array(z.string()).nullable().describe("the projects whose generations it hears of (the registering key's); null: every project"),
    createdAt: z.string(),
    disabledAt: z.string().nullable().describe('when its receiver answered 410 Gone, after which nothing more is sent to it (delete and register again to resume); null: enabled'),
  })
  .meta({ id: 'Webhook' });
export type WebhookResource = z.infer<typeof webhookResourceSchema>;

export const webhookCreatedSchema = webhookResourceSchema
  .extend({ secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/).describe('the signing secret: shown this once') })
  .meta({ id: 'WebhookCreated' });

export const webhookDeliverySchema = z
  .object({
    id: z.uuid(),
    messageId: z.string().describe('the webhook-id header: the same for every attempt of one event'),
    eventType: z.enum(WEBHOOK_EVENT_TYPES),
    generationId: z.uuid(),
    attempt: z.number().int().positive(),
    statusCode: z.number().int().nullable().describe("the receiver's HTTP status; null when no answer came"),
    error: z.string().nullable().describe('why the attempt failed; null when it succeeded'),
    succeeded: z.boolean(),
    durationMs: z.number().int().nonnegative(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDeliveryResource = z.infer<typeof webhookDeliverySchema>;

/** The body POSTed to a receiver; `data` is the generation resource (GET /api/v1/generations/:id). */
export interface WebhookMessage<T = unknown> {
  type: WebhookEventType;
  timestamp: string;
  data: T;
}
