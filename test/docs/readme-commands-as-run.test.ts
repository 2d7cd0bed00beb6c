import { readFileSync } from 'node:fs';
import path from 'node:path';
import { VERSION_PAGE } from '../../packages/cli/src/commands/version-pages';
import { parseBenchArgs } from '../../scripts/bench/bench-args';
import { requiredScopes } from '../../services/gateway/src/http/auth/route-scopes';

// What a new user following the README runs, against what the code does. Each of these once drifted:
// `character --versions` said 50 versions a page after the CLI went to 16; the bench's "quick look"
// ran 2,000 warm-up jobs and replaced docs/benchmarks.md with a report of one scenario; the two
// commands did not say that scripts/test.sh needs kubectl, which it does not install; and the CLI and
// curl examples of admin routes met setup's demo key with 403 and no word of another key.

const ROOT = path.resolve(__dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 4);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Each `pnpm bench …` line of the Benchmarks section: its arguments and its comment. */
function benchExamples(): { args: string[]; comment: string }[] {
  return section('Benchmarks')
    .split('\n')
    .filter((line) => line.startsWith('pnpm bench'))
    .map((line) => {
      const [command, ...comment] = line.split('#');
      return { args: command.trim().split(/\s+/).slice(2), comment: comment.join('#') };
    });
}

describe('README commands, as a new user runs them', () => {
  it('when the CLI section says how character --versions pages, then it names the page size the CLI asks for', () => {
    expect(section('CLI')).toContain(`asked for ${VERSION_PAGE} at a time`);
  });

  it('when a bench example is offered as a quick look, then it runs no warm-up and writes no report file over docs/', () => {
    const quick = benchExamples().filter((example) => example.comment.includes('quick look'));
    expect(quick).toHaveLength(1);
    const args = parseBenchArgs(quick[0].args);
    expect({ warmUp: args.warmUp, out: args.out }).toEqual({ warmUp: 0, out: '-' });
  });

  it('when a bench example does not say which docs/ report it writes, then it writes none (--out -)', () => {
    const examples = benchExamples();
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples.filter((e) => !/writes docs\/benchmarks/.test(e.comment))) {
      expect({ args: example.args, out: parseBenchArgs(example.args).out }).toEqual({ args: example.args, out: '-' });
    }
  });

  it('when the two commands describe scripts/test.sh, then they name every tool it checks for or calls that a fresh machine may lack', () => {
    const script = readFileSync(path.join(ROOT, 'scripts', 'test.sh'), 'utf8');
    // sudo is only used when there (a root shell needs none).
    const checked = [...script.matchAll(/command -v (\S+)/g)].map((match) => match[1]).filter((tool) => tool !== 'sudo');
    const called = ['kubectl', 'docker-compose', 'promtool'].filter((tool) => new RegExp(`^\\s*(for .*; do )?${tool} `, 'm').test(script));
    const tools = [...new Set([...checked, ...called])];
    expect(tools).toEqual(expect.arrayContaining(['docker-compose', 'promtool', 'kubectl']));
    const text = section('The two commands');
    for (const tool of tools) expect({ tool, named: text.includes(`\`${tool}\``) }).toEqual({ tool, named: true });
  });

  it("when the README says which examples setup's demo key cannot run, then the key's scopes are setup's and those routes are the ones needing a scope it lacks", () => {
    const setup = readFileSync(path.join(ROOT, 'scripts', 'setup.sh'), 'utf8');
    const scopes = /apikey-ensure-file\.js --name demo --scopes (\S+)/.exec(setup)?.[1];
    expect(scopes).toBeDefined();
    expect(README).toContain(`That key (setup's \`demo\`,\n\`${scopes}\`) gets 403 \`insufficient_scope\` on the \`admin\` routes`);
    const lacks = (method: string, route: string) => requiredScopes(method, route, undefined).some((scope) => !scopes!.split(',').includes(scope));
    // The CLI's operations: each needs a scope the demo key lacks, and the CLI section says so.
    for (const route of ['/api/v1/backends/abc/drain', '/api/v1/backends/abc/undrain', '/api/v1/queues/asset-filing/pause', '/api/v1/queues/asset-filing/resume']) {
      expect({ route, lacks: lacks('POST', route) }).toEqual({ route, lacks: true });
    }
    expect(section('CLI')).toContain('drain, undrain, pause and resume need an admin key');
    for (const [method, route] of [['POST', '/api/v1/workflows'], ['GET', '/metrics']]) expect({ route, lacks: lacks(method, route) }).toEqual({ route, lacks: true });
  });
});
