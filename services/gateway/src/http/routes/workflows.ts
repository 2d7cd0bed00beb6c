import { Router } from 'express';
import { z } from 'zod';
import { isStorableText, registerWorkflowBodySchema, workflowListQuerySchema, workflowVersionListQuerySchema } from '@anime/contracts';
import type { Db, WorkflowTemplateVersion } from '@anime/db';
import { registerWorkflow, WorkflowDomainError, workflowNotFound, type BackendCapabilities } from '@anime/workflows';
import { loadWorkflowPage } from '../../domain/workflow-page';
import { builtInDetail, toWorkflowDetail, toWorkflowVersionResource } from '../../domain/workflow-resources';
import { jsonBodyOnly } from '../json-body-only';
import { parseOr400 } from '../parse-body';
import { sendItemsInBatches } from '../send-items-in-batches';

export interface WorkflowRouteDeps {
  db: Db;
  /**
   * What each ComfyUI backend offers, for the registration's warnings about node classes and
   * models no backend has. Absent (or empty) means unknown: nothing is reported.
   */
  backendCapabilities?: () => Promise<BackendCapabilities[]>;
}

/** Versions read and sent at once by the list: a few MB in memory, however many the page holds. */
const VERSION_BATCH = 10;

const versionNumber = z.string().regex(/^[1-9]\d{0,8}$/, 'must be a version number (1, 2, ...)').transform(Number);

/**
 * Templates are append-only like character versions: registering a slug again adds its next
 * version; there is no route that changes or deletes one, and the database refuses it too.
 */
export function workflowRoutes(deps: WorkflowRouteDeps): Router {
  const router = Router();

  router.post('/', jsonBodyOnly, async (req, res) => {
    const body = parseOr400(registerWorkflowBodySchema, req.body ?? {});
    const backends = (await deps.backendCapabilities?.()) ?? [];
    const { template, version, warnings } = await registerWorkflow(deps.db, body, backends);
    res
      .status(201)
      .location(`/api/v1/workflows/${template.slug}/versions/${version.number}`)
      .json({ slug: template.slug, version: version.number, ...toWorkflowVersionResource(version), warnings });
  });

  // A page of templates: the built-in first, then the registered ones by slug (the cursor a slug).
  router.get('/', async (req, res) => {
    const query = parseOr400(workflowListQuerySchema, req.query, 'query');
    res.json(await loadWorkflowPage(deps.db, query));
  });

  router.get('/:slug', async (req, res) => {
    const builtIn = builtInDetail(req.params.slug);
    if (builtIn) return void res.json(builtIn);
    const template = await findTemplate(req.params.slug);
    const current = await deps.db.workflowTemplateVersion.findUniqueOrThrow({ where: { templateId_number: { templateId: template.id, number: template.currentVersion } } });
    res.json(toWorkflowDetail(template, current));
  });

  // A page of versions, oldest first, after the cursor's number, as a character's are listed. Versions
  // gather without end (a deploy registering its graph each time), each graph up to ~1 MB: the
  // (templateId, number) key gives the order, so a page deep in a template's history reads its own
  // rows only, and even a page is read and sent in batches.
  router.get('/:slug/versions', async (req, res) => {
    const query = parseOr400(workflowVersionListQuerySchema, req.query, 'query');
    const builtIn = builtInDetail(req.params.slug);
    if (builtIn) {
      // One version: on the page after no cursor or a smaller number; past it, an empty page.
      const items = (query.cursor ?? 0) < builtIn.currentVersion.number ? [builtIn.currentVersion] : [];
      return void res.json({ items, nextCursor: null });
    }
    const template = await findTemplate(req.params.slug);
    const after = (last: WorkflowTemplateVersion | null) => last?.number ?? query.cursor;
    await sendItemsInBatches(res, {
      batchSize: VERSION_BATCH,
      nextBatch: (last: WorkflowTemplateVersion | null, take: number) => {
        const past = after(last);
        return deps.db.workflowTemplateVersion.findMany({
          where: { templateId: template.id, ...(past !== undefined ? { number: { gt: past } } : {}) },
          orderBy: { number: 'asc' },
          take,
        });
      },
      toJson: toWorkflowVersionResource,
      page: { limit: query.limit, cursorOf: (version) => String(version.number) },
    });
  });

  router.get('/:slug/versions/:number', async (req, res) => {
    const number = parseOr400(z.object({ number: versionNumber }), { number: req.params.number }, 'version number').number;
    const builtIn = builtInDetail(req.params.slug);
    if (builtIn && number === builtIn.currentVersion.number) return void res.json(builtIn.currentVersion);
    // The built-in workflow exists, in one version: another number is a missing version, as for a template.
    if (builtIn) throw new WorkflowDomainError('version_not_found', `workflow ${req.params.slug} has no version ${number}`, { slug: req.params.slug, version: number });
    const template = await findTemplate(req.params.slug);
    const version = await deps.db.workflowTemplateVersion.findUnique({ where: { templateId_number: { templateId: template.id, number } } });
    if (!version) throw new WorkflowDomainError('version_not_found', `workflow ${template.slug} has no version ${number}`, { slug: template.slug, version: number });
    res.json(toWorkflowVersionResource(version));
  });

  async function findTemplate(slug: string) {
    // PostgreSQL would answer NUL with an error; such a slug names nothing anyway.
    const template = isStorableText(slug) ? await deps.db.workflowTemplate.findUnique({ where: { slug } }) : null;
    if (template && template.currentVersion > 0) return template;
    // Same refusal (and list of what exists) as a generation naming an unknown workflow.
    throw await workflowNotFound(deps.db, slug);
  }

  return router;
}
