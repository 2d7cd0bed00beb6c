import { z } from 'zod';

/**
 * Redis pub/sub channel (under the queue prefix) on which the gateway tells every orchestrator that a
 * backend's row changed (drained or undrained), so they read the drain flags again at once instead of
 * at their next periodic read. Best effort: PostgreSQL holds the flag, and submitting a prompt to a
 * draining backend is refused by the submit statement itself.
 */
export const backendChangesChannel = (queuePrefix: string) => `${queuePrefix}:backend-changes`;

export const backendChangeMessageSchema = z.object({ type: z.literal('backend-changed'), backendId: z.string() });
export type BackendChangeMessage = z.infer<typeof backendChangeMessageSchema>;
