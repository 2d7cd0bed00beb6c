// Prisma 7's CLI wants a native schema engine even for `generate`, and downloads it from
// outside the npm registry. `generate` never runs it, so any existing file satisfies the check.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
env.CHECKPOINT_DISABLE = '1';
execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate', '--schema', path.join(__dirname, '..', 'prisma', 'schema.prisma')], { stdio: 'inherit', env });
