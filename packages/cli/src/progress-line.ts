/**
 * Draws a job's progress: on a terminal, one bar redrawn in place; elsewhere (a pipe, a CI log)
 * one line per change, so the progress can still be read afterwards.
 */
export class ProgressLine {
  private drawn = false;
  private last = '';

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(value: number, max: number, node: string | null): void {
    const ratio = max > 0 ? Math.min(1, value / max) : 0;
    const label = `${value}/${max}${node ? ` node ${node}` : ''}`;
    if (this.out.isTTY) {
      const width = 30;
      const filled = Math.round(ratio * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${label}\x1b[K`);
      this.drawn = true;
    } else if (label !== this.last) {
      this.out.write(`progress ${String(Math.round(ratio * 100)).padStart(3)}% ${label}\n`);
    }
    this.last = label;
  }

  /** A message on its own line (the bar, if any, is ended first). */
  note(message: string): void {
    this.end();
    this.out.write(`${message}\n`);
  }

  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
