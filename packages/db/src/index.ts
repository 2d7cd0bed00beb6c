export { createDb, databaseStatements, DEFAULT_QUERY_TIMEOUT_MS, poolOf, type CreateDbOptions, type Db, type SqlPool } from './create-db';
export { isDatabaseUnavailable, isQueryTimeout } from './database-unavailable';
export { isIdempotentRead, retryReadsOnce } from './retry-reads';
export { migrate, ensureDatabase, listMigrations, pendingMigrations, MIGRATIONS_DIR } from './migrate';
export * from './generated/prisma/client';
export { isUniqueViolation } from './unique-violation';
export { literalLikePattern } from './like-pattern';
export { readRows, runStatement, SQL_NOW, type Statement } from './statements';
export { databaseUrlProblem } from './database-url';
