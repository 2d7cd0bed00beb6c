import { z } from 'zod';

/** A timestamp as every REST resource sends it: ISO 8601 in UTC (`Date#toISOString`). */
export const isoDate = z.iso.datetime();
