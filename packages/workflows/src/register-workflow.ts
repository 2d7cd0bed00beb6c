import { randomUUID } from 'node:crypto';
import { BUILT_IN_WORKFLOWS, type RegisterWorkflowBody } from '@anime/contracts';
import type { Db, Prisma, WorkflowTemplate, WorkflowTemplateVersion } from '@anime/db';
import { capabilityWarnings, type BackendCapabilities } from './capability-warnings';
import { validateTemplate, type TemplateWarning } from './validate-template';
import { describeIssues, issuesRefusal, WorkflowDomainError } from './workflow-domain-error';

export interface RegisteredWorkflow {
  template: WorkflowTemplate;
  version: WorkflowTemplateVersion;
  warnings: TemplateWarning[];
}

/**
 * The one writer of template versions: checks the graph and its parameter map, then stores it as
 * the slug's next version (1 for a new slug) and makes it current. The template row is created if
 * missing and locked (SELECT … FOR UPDATE), so concurrent registrations of one slug take N+1 and
 * N+2 instead of racing for a number. Versions are never changed afterwards (a trigger refuses it).
 *
 * @throws WorkflowDomainError `validation_failed` for a reserved slug, `invalid_workflow` listing
 *   each problem by path (`graph.3.inputs.model`, `params.cfg.default`).
 */
export async function registerWorkflow(db: Db, body: RegisterWorkflowBody, backends: BackendCapabilities[] = []): Promise<RegisteredWorkflow> {
  if (BUILT_IN_WORKFLOWS.some((w) => w.slug === body.slug)) {
    const details = [{ path: 'slug', message: `"${body.slug}" is the built-in template's; choose another` }];
    throw new WorkflowDomainError('validation_failed', `invalid request body: ${describeIssues(details)}`, details);
  }
  const { issues, warnings } = validateTemplate(body.graph, body.params);
  if (issues.length) throw issuesRefusal('invalid_workflow', 'the workflow cannot run', issues);

  const name = body.name ?? body.slug;
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`
      INSERT INTO "workflow_templates" ("id", "slug", "name", "updatedAt") VALUES (${randomUUID()}::uuid, ${body.slug}, ${name}, now())
      ON CONFLICT ("slug") DO NOTHING`;
    const [locked] = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "workflow_templates" WHERE "slug" = ${body.slug} FOR UPDATE`;
    const latest = await tx.workflowTemplateVersion.aggregate({ where: { templateId: locked.id }, _max: { number: true } });
    const number = (latest._max.number ?? 0) + 1;
    const version = await tx.workflowTemplateVersion.create({
      data: {
        templateId: locked.id,
        number,
        name,
        graph: body.graph as Prisma.InputJsonObject,
        params: body.params as Prisma.InputJsonObject,
        note: body.note ?? null,
      },
    });
    const template = await tx.workflowTemplate.update({ where: { id: locked.id }, data: { currentVersion: number, name } });
    return { template, version, warnings: [...warnings, ...capabilityWarnings(body.graph, backends)] };
  });
}
