/**
 * Progress output: on a terminal, one live status line redrawn in place with log lines scrolling above it; otherwise
 * (pipes, CI logs, tests) plain lines, the status line only when its text changes.
 */
export class Progress {
  private current = "";
  private readonly live: boolean;
  private readonly started = Date.now();

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    opts: { live?: boolean } = {},
  ) {
    this.live = opts.live ?? out.isTTY === true;
  }

  /** A permanent line. */
  line(text: string): void {
    if (this.live && this.current) this.out.write("\r\x1b[K");
    this.out.write(`${text}\n`);
    if (this.live && this.current) this.out.write(this.render(this.current));
  }

  /** Replaces the status line. */
  status(text: string): void {
    if (this.live) {
      this.current = text;
      this.out.write(`\r\x1b[K${this.render(text)}`);
      return;
    }
    if (text !== this.current) {
      this.current = text;
      this.out.write(`... ${text}\n`);
    }
  }

  /** Ends the status line (the next output starts on a fresh line). */
  done(): void {
    if (this.live && this.current) this.out.write("\r\x1b[K");
    this.current = "";
  }

  private render(text: string): string {
    const secs = Math.round((Date.now() - this.started) / 1000);
    const line = `[${String(secs).padStart(3)}s] ${text}`;
    const width = this.out.columns || 120;
    return line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
  }
}
