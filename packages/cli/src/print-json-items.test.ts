import { CliError } from './cli-error';
import { printJsonItems } from './output';

/** Pages of items `{ n }`, then `failure` thrown when given, as a version walk whose next request fails. */
async function* pagesOf(pages: number[][], failure?: Error): AsyncGenerator<unknown[]> {
  for (const page of pages) yield page.map((n) => ({ n, text: 'x'.repeat(100) }));
  if (failure) throw failure;
}

/** What printJsonItems wrote to stdout, and what it threw. */
async function printed(pages: AsyncIterable<unknown[]>, holdChars: number): Promise<{ out: string; error: unknown }> {
  const chunks: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await printJsonItems(pages, holdChars);
    return { out: chunks.join(''), error: undefined };
  } catch (error) {
    return { out: chunks.join(''), error };
  } finally {
    write.mockRestore();
  }
}

const documentOf = (count: number) => `${JSON.stringify({ items: Array.from({ length: count }, (_, i) => ({ n: i + 1, text: 'x'.repeat(100) })), nextCursor: null }, null, 2)}\n`;
const refusal = () => new CliError('the database is unavailable; try again shortly', 1, { error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } });

describe('printJsonItems, a list walked a page at a time', () => {
  it('when every page comes, then the output is the whole document as printJson prints it, held or written as it came', async () => {
    for (const holdChars of [1_000_000, 500]) {
      expect(await printed(pagesOf([[1, 2, 3], [4, 5, 6], [7]]), holdChars)).toEqual({ out: documentOf(7), error: undefined });
    }
    expect(await printed(pagesOf([]), 500)).toEqual({ out: documentOf(0), error: undefined });
  });

  it('when a page fails while the document is within what is held, then nothing of it is written and the failure is the page\'s own, its error body kept for --json', async () => {
    const failure = refusal();
    const { out, error } = await printed(pagesOf([[1, 2, 3], [4, 5, 6]], failure), 1_000_000);
    expect(out).toBe('');
    expect(error).toBe(failure);
  });

  it('when a page fails once the document is past what is held, then what was written does not parse, and the failure says stdout holds an unfinished document, without an error body to follow it', async () => {
    const { out, error } = await printed(pagesOf([[1, 2, 3], [4, 5, 6]], refusal()), 500);
    expect(out.startsWith('{\n  "items": [\n')).toBe(true);
    expect(() => JSON.parse(out)).toThrow();
    expect(error).toBeInstanceOf(CliError);
    expect({ message: (error as CliError).message, exitCode: (error as CliError).exitCode, body: (error as CliError).body }).toEqual({
      message: 'the database is unavailable; try again shortly; stdout holds the first 6 items of an unfinished JSON document',
      exitCode: 1,
      body: undefined,
    });
  });

  it('when an answer of another shape breaks the walk past what is held, then its error keeps its kind and says so too', async () => {
    const { error } = await printed(pagesOf([[1, 2, 3]], new TypeError('page.items is not iterable')), 200);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('page.items is not iterable; stdout holds the first 3 items of an unfinished JSON document');
  });
});
