import { Prisma } from '@anime/db';

/** A unique constraint refused the write: someone else got there first. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
