import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PIPELINE_CATALOG } from '@anime/contracts';

// The README's contract for producers must say what the code does: names, options and the schema URL.
const README = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 4);
  return README.slice(start, end < 0 ? undefined : end);
}

describe("README's contract for systems that produce onto the queues", () => {
  const entry = PIPELINE_CATALOG.generationRequests;
  const text = section('For systems that produce onto the queues');

  it('when read, then it names the queue, the prefix variable, the job name and the schema URL the code uses', () => {
    expect(text).toContain(`| Queue | \`${entry.name}\``);
    expect(text).toContain('`QUEUE_PREFIX` (default `bull`)');
    expect(text).toContain(`| Job name | \`${entry.jobName}\``);
    expect(text).toContain('GET /api/v1/schemas/generation-request');
    expect(text).toContain('multipleOf: 8');
  });

  it("when read, then the job options are the catalog's, idempotency is source + requestId, and the outcome points to the event stream", () => {
    expect(text).toContain(`\`attempts: ${entry.retry.attempts}\`, \`backoff: { type: '${entry.retry.backoff.type}', delay: ${entry.retry.backoff.delay} }\``);
    expect(text).toMatch(/\| Idempotency \| `source`.*`requestId`/);
    expect(text).toContain('(#following-your-jobs)');
    expect(README).toContain('<a id="following-your-jobs"></a>\n**Following your jobs: the `generation-events` stream.**');
  });

  it('when read, then the REST and CLI sections name the docs URL, the lists and the CLI commands', () => {
    const rest = section('REST API');
    for (const phrase of ['/api/docs', '/api/openapi.json', '/api/v1/generations?', '/api/v1/assets?', '"basedOn"']) expect(rest).toContain(phrase);
    const cli = section('CLI');
    for (const phrase of ['pnpm anime --help', '--watch', 'anime jobs', 'anime show', 'anime cancel', 'anime retry', 'anime characters', 'anime backends', 'anime queues', 'anime character kai-nakamura --versions', 'anime assets', 'anime download', 'anime drain', 'anime pause', 'anime webhooks', 'anime deliveries', '--json', 'ANIME_API_KEY', '~/.config/anime/api-key', 'ANIME_URL']) {
      expect(cli).toContain(phrase);
    }
  });
});
