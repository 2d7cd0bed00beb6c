import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export type Db = PrismaClient;

/** One Prisma client per process, over node-postgres (no native query engine needed). */
export function createDb(databaseUrl: string, options: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.max ?? 10, idleTimeoutMillis: 5_000 });
  return new PrismaClient({ adapter });
}
