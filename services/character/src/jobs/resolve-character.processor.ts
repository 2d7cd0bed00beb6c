import { resolveGeneration } from '@anime/characters';
import { generationRequestBodySchema, webhookNotRegistered, type GenerationRequestBody, type QueuePayload } from '@anime/contracts';
import { UnrecoverableError } from 'bullmq';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { JobLifecycle, MalformedDataError, requestWebhookEndpoint, WorkflowNotFoundError, type JobEventPublisher, type StageHandler } from '@anime/pipeline';
import { resolveWorkflowRequest, WorkflowDomainError, type WorkflowChoice } from '@anime/workflows';

export interface ResolveCharacterDeps {
  db: Db;
  events: JobEventPublisher;
  log: Logger;
}

/**
 * `generation-requests` → resolves the character version a generation will use into conditioning
 * and records it (stage `resolved`); the stage worker then hands it to the orchestrator.
 * Requests from other systems arrive without a row: it is created here, once per (source, requestId).
 */
export function createResolveCharacterHandler(deps: ResolveCharacterDeps): StageHandler<'generationRequests'> {
  const lifecycle = new JobLifecycle(deps.db);

  return {
    locate: (payload, run) => locateGeneration(deps, lifecycle, payload, run.log),
    run: async (generation) => {
      // The stored request decides, never the message that named the generation.
      const request = generationRequestBodySchema.safeParse(generation.request);
      if (!request.success) throw new MalformedDataError(`generation ${generation.id} has a malformed stored request`);
      const body = request.data;
      const workflow = await chooseWorkflow(deps.db, body);
      const { character, version, conditioning } = await resolveGeneration(deps.db, body);
      const resolved = await lifecycle.resolve(generation.id, { characterId: character.id, characterVersionId: version.id, conditioning: { ...conditioning, workflow } });
      return { outcome: resolved ? 'resolved' : 'resolved elsewhere', reached: 'resolved' };
    },
  };
}

/** The generation a message is about: the one it names, its producer's earlier one, or a new one. */
async function locateGeneration(deps: ResolveCharacterDeps, lifecycle: JobLifecycle, payload: QueuePayload<'generationRequests'>, log: Logger): Promise<string> {
  if (payload.generationId) {
    const existing = await deps.db.generationJob.findUnique({ where: { id: payload.generationId }, select: { id: true } });
    if (existing) return existing.id;
  }
  // A reference to no generation can only be refused again: it fails once, like an invalid message.
  if (!('character' in payload)) throw new UnrecoverableError(`generation ${payload.generationId} does not exist`);
  // Refused before a row exists, and never retried: the same message would be refused again.
  if (payload.webhook && !(await requestWebhookEndpoint(deps.db, payload.webhook.url, payload.project, null))) {
    throw new UnrecoverableError(`invalid generation-requests payload: ${webhookNotRegistered(payload.webhook.url)}`);
  }
  const { schemaVersion: _v, source, requestId, generationId, correlationId, ...body } = payload;
  const created = await lifecycle.create({ body, source, requestId, correlationId, id: generationId });
  if (created.event) {
    await deps.events.publish(created.event);
    log.info('created generation from queue message', { generationId: created.job.id, source, requestId });
  }
  return created.job.id;
}

/** The template and parameter values, the template domain's refusals turned into the stage's faults. */
async function chooseWorkflow(db: Db, body: GenerationRequestBody): Promise<WorkflowChoice> {
  try {
    return await resolveWorkflowRequest(db, body);
  } catch (error) {
    if (!(error instanceof WorkflowDomainError)) throw error;
    if (error.code === 'workflow_not_found') throw new WorkflowNotFoundError(error.message, error.details as { workflow: string; available: string[] });
    // A parameter the template does not take or a value it refuses: the request is wrong (invalid_request).
    throw new MalformedDataError(error.message);
  }
}
