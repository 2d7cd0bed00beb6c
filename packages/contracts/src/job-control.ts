import { z } from 'zod';

/**
 * Redis pub/sub channel (under the queue prefix) on which the gateway tells the orchestrator that a
 * generation's run should stop. Best effort: the request is also recorded in the generation's row
 * (`cancelRequestedAt`), which the orchestrator reads when it picks a job and while it drives one.
 */
export const jobControlChannel = (queuePrefix: string) => `${queuePrefix}:job-control`;

export const jobControlMessageSchema = z.object({ type: z.literal('cancel'), generationId: z.string().uuid() });
export type JobControlMessage = z.infer<typeof jobControlMessageSchema>;
