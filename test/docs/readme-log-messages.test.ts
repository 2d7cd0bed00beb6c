import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// The log lines the README quotes, against the code that writes them. An operator greps the quoted
// text: the Library section quoted a filing's wait as "…: the filing waits" while the line goes on
// ", its tries untouched", and a quote that drifts from its message finds nothing in a real log.

const ROOT = path.resolve(__dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function section(start: string): string {
  const at = README.indexOf(`\n${start}\n`);
  if (at < 0) throw new Error(`README has no "${start}" heading`);
  const level = start.split(' ')[0];
  // Ends at the next heading of the same level or higher.
  const next = README.slice(at + start.length + 2).search(new RegExp(`\\n#{1,${level.length}} `));
  return README.slice(at, next < 0 ? undefined : at + start.length + 2 + next);
}

/** The source files that may write a log line: every non-test TypeScript file of packages/ and services/. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'dist', 'test'].includes(entry.name) ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/**
 * Each string or template literal of the sources as a whole-text pattern: a `${…}` holding string
 * literals (a ternary's two words) is one of them, any other matches any text. A literal whose own
 * words are fewer than two (`${a} ${b}: ${c}`) would match nearly any quote, so it is left out.
 */
function literalPatterns(): RegExp[] {
  const escape = (text: string) => text.replace(/\\'/g, "'").replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns: RegExp[] = [];
  for (const file of [...sourceFiles(path.join(ROOT, 'packages')), ...sourceFiles(path.join(ROOT, 'services'))]) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`/g)) {
      const literal = match[1] ?? match[2];
      let words = 0;
      const source = literal.split(/(\$\{[^}]*\})/).map((part, i) => {
        if (i % 2 === 0) {
          words += part.split(/\W+/).filter(Boolean).length;
          return escape(part);
        }
        const choices = [...part.matchAll(/'([^']*)'/g)].map((m) => m[1]);
        if (choices.length === 0) return '.+';
        words += Math.min(...choices.map((choice) => choice.split(/\W+/).filter(Boolean).length));
        return `(?:${choices.map(escape).join('|')})`;
      });
      if (words >= 2) patterns.push(new RegExp(`^${source.join('')}$`));
    }
  }
  return patterns;
}

/** The backticked spans of a text that read as log messages: three words or more, no code (braces, paths, `=`). */
function quotedMessages(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\s+/g, ' ')).filter((quote) => /\S+ \S+ \S+/.test(quote) && !/[{}=/<]|^pnpm |^curl /.test(quote));
}

/** Anywhere in the README, a quote introduced as a line: "logged at info, `…`", "logs `…`". */
function loggedAnywhere(): string[] {
  return [...README.matchAll(/(?:logged\s+at\s+\w+,\s+|logs\s+)`([^`]+)`/g)].map((m) => m[1].replace(/\s+/g, ' '));
}

describe('README log messages, as the code writes them', () => {
  const patterns = literalPatterns();
  const quotes = [...new Set([...quotedMessages(section('### Logs')), ...quotedMessages(section('## Library')), ...loggedAnywhere()])];

  it('when the Logs and Library sections quote log lines, then there are some to check', () => {
    expect(quotes).toEqual(expect.arrayContaining(['1200 filings wait: the library refuses writes (ENOSPC: the library volume is full)', 'a job the stall check put back went behind more urgent jobs waiting']));
    expect(quotes).toEqual(expect.arrayContaining(['PostgreSQL unavailable: stage jobs wait for it, no try spent', 'readiness check failed', 'readiness check passes again', 'library refuses writes']));
  });

  it('when the README quotes a log line, then a message in the source renders exactly that text', () => {
    for (const quote of quotes) expect({ quote, inSource: patterns.some((pattern) => pattern.test(quote)) }).toEqual({ quote, inSource: true });
  });
});
