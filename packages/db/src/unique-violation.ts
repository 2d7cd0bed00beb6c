import { Prisma } from './generated/prisma/client';

/**
 * A unique constraint refused the write: someone else got there first. Prisma reports it as P2002;
 * a statement run on the pool directly (poolOf) as node-postgres' error with SQLSTATE 23505.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code === 'P2002';
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505' && typeof (error as { constraint?: unknown }).constraint === 'string';
}
