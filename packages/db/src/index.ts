export { createDb, type Db } from './create-db';
export { migrate, ensureDatabase, listMigrations, MIGRATIONS_DIR } from './migrate';
export * from './generated/prisma/client';
export { isUniqueViolation } from './unique-violation';
