// Read by the Prisma CLI (used here only for `prisma generate`; migrations are applied by
// packages/db's own runner, see prisma/README.md).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
