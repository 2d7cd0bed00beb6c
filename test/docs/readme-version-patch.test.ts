import { readFileSync } from 'node:fs';
import path from 'node:path';
import { seedDemo } from '@anime/character';
import { startTestGateway, type TestGateway } from '../../services/gateway/test/start-test-gateway';

// The README's "new version" example, run as written against the seeded Kai: once, following it
// replaced the whole definition and wiped his outfits, prompts, trigger words and attributes.

const README = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

/** The shell block of the README's "### Versions" section. */
function versionsBlock(): string {
  const section = README.split('\n### Versions\n')[1]?.split('\n### ')[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README has no shell block under "### Versions"');
  return block;
}

/** The JSON after `-d '` in the block's first POST, and the diff the README says follows. */
function readmeExample(): { body: any; diff: any } {
  const block = versionsBlock();
  const body = /-d '([\s\S]*?)'/.exec(block)?.[1];
  // The diff answer is written as comment lines starting "# → {" up to the closing "] }".
  const diffLines = /# → (\{ "from"[\s\S]*?\] \})/.exec(block)?.[1];
  if (!body || !diffLines) throw new Error('README versions block lacks the POST body or the diff answer');
  return { body: JSON.parse(body), diff: JSON.parse(diffLines.replace(/^#\s*/gm, '')) };
}

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('readme-patch');
  await seedDemo({ databaseUrl: gateway.database.url, libraryDir: gateway.libraryDir });
});
afterAll(() => gateway?.close());

describe("README's new-version example", () => {
  it('when the example patch is posted for the seeded Kai, then the diff holds exactly the changes the README shows and nothing else is lost', async () => {
    const { body, diff } = readmeExample();
    expect(body.basedOn).toBeDefined();
    const api = gateway.client();
    const before = await api.get(`/api/v1/characters/kai-nakamura/versions/${body.basedOn}`);
    expect(before.status).toBe(200);

    const created = await api.post('/api/v1/characters/kai-nakamura/versions', body);
    expect(created.status).toBe(201);
    expect(created.body.number).toBe(diff.to);

    const answer = await api.get(`/api/v1/characters/kai-nakamura/versions/${diff.from}/diff/${diff.to}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(diff);
    // What the README's old example wiped survives: outfits, prompts, trigger words, every other attribute.
    const { definition, attributes } = created.body;
    expect(definition.outfits).toEqual(before.body.definition.outfits);
    expect(definition.prompt).toEqual(before.body.definition.prompt);
    expect(definition.triggerWords).toEqual(before.body.definition.triggerWords);
    const deleted = Object.keys(body.patch.attributes ?? {}).filter((key) => body.patch.attributes[key] === null);
    expect(Object.keys(attributes).sort()).toEqual(Object.keys(before.body.attributes).filter((key) => !deleted.includes(key)).sort());
    expect(Object.keys(definition).sort()).toEqual(Object.keys(before.body.definition).sort());
  });
});
