import { Router } from 'express';
import { z } from 'zod';
import { characterDefinitionSchema, generationRequestPayloadSchema, registerWorkflowBodySchema } from '@anime/contracts';
import { notFound } from '../api-error';

// Published so that other systems can validate what they put on the queues or send us.
const SCHEMAS: Record<string, z.ZodType> = {
  'character-definition': characterDefinitionSchema,
  'generation-request': generationRequestPayloadSchema,
  workflow: registerWorkflowBodySchema,
};

export function schemaRoutes(): Router {
  const router = Router();
  const rendered = new Map(Object.entries(SCHEMAS).map(([name, schema]) => [name, z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })]));
  router.get('/', (_req, res) => {
    res.json({ items: [...rendered.keys()].map((name) => ({ name, url: `/api/v1/schemas/${name}` })) });
  });
  router.get('/:name', (req, res) => {
    const schema = rendered.get(req.params.name);
    if (!schema) throw notFound(`schema ${req.params.name}`);
    res.json(schema);
  });
  return router;
}
