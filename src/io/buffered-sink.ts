import { SinkError } from '../errors.js';
import { byteChunks } from './byte-chunks.js';
import type { OutRecord, Sink } from './types.js';

export interface BufferedSinkOptions {
  /** Start a delivery once this many bytes are buffered; no delivery carries more (a larger write is cut). */
  chunkBytes?: number;
  /** Deliver at most this long after a record was written (0: only at chunkBytes or flush). */
  lingerMs?: number;
  /** ready() waits while more than this many bytes are buffered or being delivered. */
  highWaterBytes?: number;
}

/**
 * A Sink that gathers records and hands them to `deliver` in order, one
 * delivery at a time, in the background. A failed delivery fails every later
 * flush() and ready(), so nothing is reported done that was not delivered.
 */
export abstract class BufferedSink implements Sink {
  private records: OutRecord[] = [];
  private bufferedBytes = 0;
  private inFlightBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private linger: NodeJS.Timeout | undefined;
  private readonly chunkBytes: number;
  private readonly lingerMs: number;
  private readonly highWaterBytes: number;

  protected abstract readonly name: string;
  /** Delivers records in order; resolves when they are durable. */
  protected abstract deliver(records: OutRecord[]): Promise<void>;
  protected abstract release(): Promise<void>;

  constructor(options: BufferedSinkOptions = {}) {
    this.chunkBytes = options.chunkBytes ?? 1 << 16;
    this.lingerMs = options.lingerMs ?? 0;
    this.highWaterBytes = options.highWaterBytes ?? 4 << 20;
  }

  write(records: readonly OutRecord[]): void {
    for (const record of records) {
      this.records.push(record);
      this.bufferedBytes += recordBytes(record);
    }
    if (this.bufferedBytes >= this.chunkBytes) this.startDelivery();
    else if (this.lingerMs > 0 && this.linger === undefined && this.records.length > 0) {
      this.linger = setTimeout(() => this.startDelivery(), this.lingerMs);
    }
  }

  async ready(): Promise<void> {
    while (this.inFlightBytes + this.bufferedBytes > this.highWaterBytes && this.failure === undefined) {
      this.startDelivery();
      await this.chain;
    }
    this.throwIfFailed();
  }

  async flush(): Promise<void> {
    this.startDelivery();
    await this.chain;
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.release();
    }
  }

  private startDelivery(): void {
    if (this.linger !== undefined) {
      clearTimeout(this.linger);
      this.linger = undefined;
    }
    if (this.records.length === 0) return;
    const records = this.records;
    this.inFlightBytes += this.bufferedBytes;
    this.records = [];
    this.bufferedBytes = 0;
    // One write may hold far more than a chunk (a task's alerts): each delivery carries at most chunkBytes.
    for (const { records: chunk, bytes } of byteChunks(records, this.chunkBytes, recordBytes)) {
      this.chain = this.chain.then(async () => {
        try {
          if (this.failure === undefined) await this.deliver(chunk);
        } catch (error) {
          this.failure = error;
        } finally {
          this.inFlightBytes -= bytes;
        }
      });
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw new SinkError(`cannot write to ${this.name}`, { cause: this.failure });
  }
}

function recordBytes(record: OutRecord): number {
  return record.value.length + record.key.length;
}

/** Records as NDJSON text, one line each. */
export function toLines(records: readonly OutRecord[], format: (record: OutRecord) => string = (r) => r.value): string {
  let text = '';
  for (const record of records) text += `${format(record)}\n`;
  return text;
}
