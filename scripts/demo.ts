import path from 'node:path';
import axios from 'axios';
import { mintKey, revokeKey } from '@anime/api-keys';
import { createDb } from '@anime/db';
import { withLocalDefaults } from './default-env';
import { runStack, stackPortProblem } from './run-stack';

/**
 * The main job, end to end: start the stack, ask for an image of Kai Nakamura, follow it to
 * the end and print where the organized file landed. Exits non-zero if it did not complete.
 */
async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('usage: pnpm demo\n\nStarts the stack, generates Kai Nakamura and prints the library path of the result.');
    return;
  }
  const verbose = process.argv.includes('--verbose');
  // A stack already listening there (a pnpm start left running) would answer for this one, whose
  // services could not listen: the demo then "completed" on that stack, another build or database.
  const problem = await stackPortProblem(withLocalDefaults());
  if (problem) throw new Error(problem);
  const { stack, env } = await runStack((line) => {
    if (verbose) console.log(line);
  });
  // A key of its own for this run, limited to the demo project and revoked at the end: the demo never
  // needs a key on its command line or in a file.
  const db = createDb(env.DATABASE_URL!, { max: 1 });
  const keyName = `demo-run-${Date.now()}`;
  try {
    const { key } = await mintKey(db, { name: keyName, scopes: ['read', 'generate'], projects: ['demo'] });
    const api = axios.create({ baseURL: stack.gatewayUrl, validateStatus: () => true, headers: { Authorization: `Bearer ${key}` } });
    const created = await api.post('/api/v1/generations', {
      character: 'kai-nakamura',
      prompt: 'standing on a rooftop at dusk, wind in the hair',
      project: 'demo',
      episode: 'ep01',
      scene: 'sc001',
    });
    if (created.status !== 202) throw new Error(`POST /api/v1/generations answered ${created.status}: ${JSON.stringify(created.data)}`);
    console.log(`submitted generation ${created.data.id}`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { data } = await api.get(`/api/v1/generations/${created.data.id}`);
      if (data.progress) process.stdout.write(`\r${data.status} ${data.progress.value}/${data.progress.max}   `);
      if (data.status === 'completed') {
        console.log('\ncompleted');
        for (const asset of data.assets) {
          console.log(`organized file: ${path.join(path.resolve(env.LIBRARY_DIR!), asset.path)}`);
          console.log(`  sha256 ${asset.sha256}, ${asset.width}x${asset.height}, character ${asset.character.slug} v${asset.character.version}`);
        }
        return;
      }
      if (data.status === 'failed' || data.status === 'canceled') throw new Error(`generation ${data.status}: ${JSON.stringify(data.error)}`);
      if (Date.now() > deadline) throw new Error('generation did not finish within 120 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await revokeKey(db, keyName).catch(() => undefined);
    await db.$disconnect();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
