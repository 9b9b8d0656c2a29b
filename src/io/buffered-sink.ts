import { SinkError } from '../errors.js';
import { OrderedDelivery } from './ordered-delivery.js';
import type { OutRecord, Sink } from './types.js';

export interface BufferedSinkOptions {
  /** No delivery carries more than this many bytes (a larger write is cut), and this many buffered start one at once. */
  chunkBytes?: number;
  /**
   * How long records may wait for company when no delivery is out: 0 sends at
   * once; undefined waits for chunkBytes or flush(). While a delivery is out,
   * whatever is written waits for it and goes in the next, as soon as it is back.
   */
  lingerMs?: number;
  /** ready() waits while more than this many bytes are buffered or being delivered. */
  highWaterBytes?: number;
}

/**
 * A Sink that gathers records and hands them to `deliver` in order, one
 * delivery at a time, in the background (ordered-delivery.ts: records written
 * while a delivery is out go in the next). A failed delivery fails every later
 * flush() and ready(), so nothing is reported done that was not delivered.
 */
export abstract class BufferedSink implements Sink {
  private readonly delivery: OrderedDelivery<OutRecord>;
  private readonly highWaterBytes: number;

  protected abstract readonly name: string;
  /** Delivers records in order; resolves when they are durable. */
  protected abstract deliver(records: OutRecord[]): Promise<void>;
  protected abstract release(): Promise<void>;

  constructor(options: BufferedSinkOptions = {}) {
    this.delivery = new OrderedDelivery({
      deliver: (records) => this.deliver(records),
      bytesOf: recordBytes,
      chunkBytes: options.chunkBytes ?? 1 << 16,
      lingerMs: options.lingerMs,
    });
    this.highWaterBytes = options.highWaterBytes ?? 4 << 20;
  }

  write(records: readonly OutRecord[]): void {
    this.delivery.write(records);
  }

  async ready(): Promise<void> {
    while (this.delivery.pendingBytes > this.highWaterBytes && !this.delivery.hasFailed) {
      this.delivery.kick();
      await this.delivery.settled();
    }
    this.throwIfFailed();
  }

  async flush(): Promise<void> {
    await this.delivery.flush().catch(() => {});
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.release();
    }
  }

  private throwIfFailed(): void {
    if (this.delivery.hasFailed) throw new SinkError(`cannot write to ${this.name}`, { cause: this.delivery.failure });
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
