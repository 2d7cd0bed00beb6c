import type { Db } from '@anime/db';

/** The client Prisma hands an interactive transaction's callback. */
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];
