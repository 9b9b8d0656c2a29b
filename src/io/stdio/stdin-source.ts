import { LineBatcher } from '../line-batcher.js';
import type { Source, SourceBatch } from '../types.js';

/** NDJSON from standard input, until it closes. Dead letters name the line as `{file: "<stdin>", line}`. */
export class StdinSource implements Source {
  private readonly lines: LineBatcher;

  constructor(batchSize: number, input: AsyncIterable<Buffer> = process.stdin) {
    this.lines = new LineBatcher(input, batchSize, (line) => ({ file: '<stdin>', line }));
  }

  next(): Promise<SourceBatch | null> {
    return this.lines.next();
  }

  async commit(): Promise<void> {}

  lag(): number | undefined {
    return undefined;
  }

  stop(): void {
    this.lines.stop();
  }

  close(): Promise<void> {
    return this.lines.close();
  }
}
