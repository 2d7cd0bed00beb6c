import { columnsTaken, printTable } from './output';
import { describeGeneration, type GenerationResource } from './generation-summary';
import type { ApiClient } from './api-client';

/** What printTable writes to stdout. */
function printed(rows: Record<string, unknown>[], columns: string[]): string {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    printTable(rows, columns);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

describe('text output of what others stored', () => {
  it('when a cell holds a newline, a tab or a terminal escape sequence, then they are printed as escapes: one row a line, nothing the terminal obeys', () => {
    const out = printed(
      [
        { slug: 'evil', name: 'Evil \u001b[2J\u001b]0;pwned\u0007 Name' },
        { slug: 'split', name: 'Line\nBreak\tTab\r' },
      ],
      ['slug', 'name'],
    );
    expect(out.split('\n')).toEqual(['SLUG   NAME', 'evil   Evil \\u001b[2J\\u001b]0;pwned\\u0007 Name', 'split  Line\\nBreak\\tTab\\r']);
  });

  it('when a cell holds bidirectional controls (U+202E and its kin), then they are printed as escapes: a name cannot reorder the rest of its row', () => {
    const out = printed([{ slug: 'spoof', name: 'invoice\u202egnp.exe\u2066x\u2069' }], ['slug', 'name']);
    expect(out.split('\n')[1]).toBe('spoof  invoice\\u202egnp.exe\\u2066x\\u2069');
  });

  it('when a cell holds CJK characters, kana or emoji (two columns each on a terminal), then the columns after it stay aligned', () => {
    expect([columnsTaken('Kai'), columnsTaken('中村 カイ'), columnsTaken('Zoë 🌸'), columnsTaken('Zoe\u0308')]).toEqual([3, 9, 6, 3]);
    const out = printed(
      [
        { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 3 },
        { slug: 'u-1', name: '中村 カイ', currentVersion: 1 },
        { slug: 'u-2', name: 'Zoë 🌸 Blossom', currentVersion: 1 },
      ],
      ['slug', 'name', 'currentVersion'],
    );
    // Each row's last column starts at the same terminal column as the header's.
    const starts = out.split('\n').map((line) => columnsTaken(line.slice(0, line.search(/\S+$/))));
    expect(new Set(starts).size).toBe(1);
  });

  it('when a generation is shown, then its prompt and its error stay one line each, without control characters', () => {
    const api = { baseUrl: 'http://gw' } as ApiClient;
    const generation = {
      id: 'g1',
      status: 'failed',
      progress: null,
      error: { code: 'comfyui_execution', message: 'Allocation on device\nThis error means you ran out of memory' },
      character: { slug: 'kai', version: 3 },
      request: { prompt: 'multi\nline \u001b[31mred\u001b[0m', project: 'demo' },
      backend: null,
      assets: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      finishedAt: null,
    } satisfies GenerationResource;
    const lines = describeGeneration(api, generation).split('\n');
    expect(lines).toContain('prompt     multi\\nline \\u001b[31mred\\u001b[0m');
    expect(lines).toContain('error      comfyui_execution: Allocation on device This error means you ran out of memory');
    expect(lines.join('\n')).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});
