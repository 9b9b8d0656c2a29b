/**
 * The terminal's status lines: a few lines at the bottom of stderr (the CLI's
 * progress, the demo's dashboard address), redrawn in place. Whatever else
 * goes to the terminal (log lines on stderr, alerts on stdout) is printed
 * through printAbove(), which erases the status lines first and draws them
 * again after, so the two never share a line. Without a terminal on stderr
 * there are no status lines and printAbove() just prints.
 */

const ERASE_LINE = '\r\u001b[2K';
const UP_AND_ERASE = '\u001b[1A\u001b[2K';

/** Where status lines are drawn: stderr, or a test's recorder. */
export interface StatusOutput {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export class StatusLines {
  private shown: readonly string[] = [];

  constructor(private readonly out: StatusOutput) {}

  /** Shows `lines` as the status lines, each cut to the terminal's width (a wrapped line could not be erased). */
  set(lines: readonly string[]): void {
    if (this.out.isTTY !== true) return;
    // 0 when the terminal does not say (the pseudo-terminal of `script`, say).
    const width = this.out.columns || 80;
    const erase = this.erasing();
    this.shown = lines.map((line) => (line.length < width ? line : `${line.slice(0, Math.max(0, width - 2))}…`));
    this.out.write(`${erase}${this.shown.join('\n')}`);
  }

  /** Erases the status lines for good (until the next set). */
  clear(): void {
    if (this.shown.length === 0) return;
    this.out.write(this.erasing());
    this.shown = [];
  }

  /**
   * Runs `print` (which writes whole lines to the terminal) with the status
   * lines out of the way. Node writes to a terminal synchronously (on Linux
   * and macOS), so they are drawn again after what `print` wrote, not before it.
   */
  printAbove(print: () => void): void {
    if (this.shown.length === 0) {
      print();
      return;
    }
    this.out.write(this.erasing());
    print();
    this.out.write(this.shown.join('\n'));
  }

  /** Erases the status lines shown, leaving the cursor at the start of the first. */
  private erasing(): string {
    return this.shown.length === 0 ? ERASE_LINE : ERASE_LINE + UP_AND_ERASE.repeat(this.shown.length - 1);
  }
}

/** The process's status lines, at the bottom of stderr. */
export const terminal = new StatusLines(process.stderr);
