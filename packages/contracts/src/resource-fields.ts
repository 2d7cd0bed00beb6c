import { z } from 'zod';

/** A timestamp as every REST resource sends it: ISO 8601 in UTC (`Date#toISOString`). */
export const isoDate = z.iso.datetime();

/**
 * A field that is always sent and may hold any JSON value, null included. Not a bare `z.unknown()`:
 * that accepts undefined too, so the OpenAPI document (zod-to-openapi asks `safeParse(undefined)`)
 * would call the field optional. Any value but undefined passes, as before.
 */
export const anyJsonValue = z.unknown().refine((value) => value !== undefined, { message: 'required' });
