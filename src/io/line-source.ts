import { LineBatcher } from './line-batcher.js';
import type { RecordPosition, Source, SourceBatch } from './types.js';

/**
 * NDJSON from a byte stream (a file, standard input), start to end. Bounded:
 * next() returns null when the stream ends. It has no resume point, so
 * commit() keeps nothing: a re-run starts from the first line.
 */
export class LineSource implements Source {
  private readonly lines: LineBatcher;

  constructor(chunks: AsyncIterable<Buffer>, batchSize: number, describe: (line: number) => RecordPosition) {
    this.lines = new LineBatcher(chunks, batchSize, describe);
  }

  next(): Promise<SourceBatch | null> {
    return this.lines.next();
  }

  async commit(): Promise<readonly number[]> {
    return [];
  }

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
