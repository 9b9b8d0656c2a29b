import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { SourceError } from '../../errors.js';
import { LineBatcher } from '../line-batcher.js';
import type { Source, SourceBatch } from '../types.js';

/** Reads an NDJSON file once, start to end. Bounded: next() returns null when drained. */
export class FileSource implements Source {
  private readonly lines: LineBatcher;

  private constructor(path: string, batchSize: number) {
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    this.lines = new LineBatcher(stream, batchSize, (line) => ({ file: path, line }));
  }

  static async open(path: string, batchSize: number): Promise<FileSource> {
    try {
      await access(path);
    } catch (error) {
      throw new SourceError(`cannot read the input file ${path}`, { cause: error });
    }
    return new FileSource(path, batchSize);
  }

  next(): Promise<SourceBatch | null> {
    return this.lines.next();
  }

  // A file has no resume point to keep: a re-run starts from the first line.
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
