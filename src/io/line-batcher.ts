import type { BufferBatch, RecordPosition } from './types.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const QUIET_MS = 10;

/**
 * Splits a byte stream into NDJSON lines and groups them into batches, at the
 * byte level (no decoding: workers validate UTF-8). Line numbers are 1-based;
 * blank lines are records too (they become dead letters, nothing is skipped
 * silently), but a final newline does not start another line.
 */
export class LineBatcher {
  private readonly iterator: AsyncIterator<Buffer>;
  private carry: Buffer = Buffer.alloc(0);
  private pending: Buffer[] = [];
  private nextLine = 1;
  private ended = false;
  /** A read of the input not yet answered (kept across next() calls when a quiet input ended a batch early). */
  private reading: Promise<IteratorResult<Buffer>> | undefined;
  private stopped = false;
  private wake: () => void = () => {};
  private readonly stopSignal = new Promise<null>((resolve) => {
    this.wake = () => resolve(null);
  });

  constructor(
    chunks: AsyncIterable<Buffer>,
    private readonly batchSize: number,
    private readonly describe: (line: number) => RecordPosition,
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
  }

  /** Ends the batches: a next() waiting for input (stdin) returns what it has at once. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  async next(): Promise<BufferBatch | null> {
    while (this.pending.length < this.batchSize && !this.ended && !this.stopped) {
      this.reading ??= this.iterator.next();
      // With lines in hand, a quiet input (a person typing, a slow pipe) hands them on instead of waiting for a full batch.
      const waits: Array<Promise<IteratorResult<Buffer> | null | 'quiet'>> = [this.reading, this.stopSignal];
      if (this.pending.length > 0) waits.push(new Promise((resolve) => setTimeout(() => resolve('quiet'), QUIET_MS)));
      const chunk = await Promise.race(waits);
      if (chunk === 'quiet') break;
      if (chunk === null) break;
      this.reading = undefined;
      if (chunk.done) {
        this.ended = true;
        if (this.carry.length > 0) this.pending.push(trimCr(this.carry));
        this.carry = Buffer.alloc(0);
      } else {
        this.split(chunk.value);
      }
    }
    if (this.pending.length === 0) return null;
    const values = this.pending.splice(0, this.batchSize);
    const firstLine = this.nextLine;
    this.nextLine += values.length;
    const describe = this.describe;
    return {
      partition: 0,
      values,
      keys: null,
      timestamps: new Float64Array(values.length).fill(Date.now()),
      position: (i) => describe(firstLine + i),
    };
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }

  private split(chunk: Buffer): void {
    let data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    if (this.nextLine === 1 && this.pending.length === 0 && data.subarray(0, 3).equals(BOM)) data = data.subarray(3);
    let start = 0;
    for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
      this.pending.push(trimCr(data.subarray(start, nl)));
      start = nl + 1;
    }
    // Copy the tail so the chunk it came from can be released.
    this.carry = Buffer.from(data.subarray(start));
  }
}

function trimCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.subarray(0, line.length - 1) : line;
}
