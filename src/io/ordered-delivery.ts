import { byteChunks } from './byte-chunks.js';

export interface OrderedDeliveryOptions<T> {
  /** Delivers records in order; called once at a time. Resolves when they are durable. */
  deliver: (records: T[]) => Promise<void>;
  bytesOf: (record: T) => number;
  /** No delivery carries more than this many bytes (a larger write is cut), and this many buffered start one at once. */
  chunkBytes: number;
  /**
   * How long records may wait for company when no delivery is out: 0 sends at
   * once; undefined waits for chunkBytes or flush().
   */
  lingerMs?: number | undefined;
  /** Records of these many bytes left the buffer for good: delivered, failed or dropped. */
  onSettled?: (bytes: number) => void;
}

/**
 * Records handed on in order, one delivery at a time, in the background.
 * Records written while a delivery is out go together in the next one, which
 * starts as soon as that one is back: under load deliveries grow instead of
 * queueing behind each other, and no record waits for a linger it does not
 * need. (Each linger's records used to be a delivery of their own, queued
 * behind the one out. With this and the sink's linger 5 → 0 ms, at 50k
 * readings/s in three rounds: p50 end to end 17–18 → 13 ms, p99 45–55 → 31–42
 * ms, bench/results/latency-sink-rounds.md; most of it is the linger, since at
 * the same 1 ms linger the two moved the same, latency-same-linger.md. On a
 * backlog at 1 ms the queued sends cost 13–15% of throughput, kafka-throughput-same-linger.md.)
 * The first failed delivery is kept: nothing after it is delivered, and every
 * later flush() throws it, so nothing is reported done that was not.
 */
export class OrderedDelivery<T> {
  private records: T[] = [];
  private bufferedBytes = 0;
  private inFlightBytes = 0;
  /** Whether the delivery loop runs (set before it starts: a delivery may begin within the call that starts it). */
  private running = false;
  /** The delivery now out (settled when none is). */
  private round: Promise<void> = Promise.resolve();
  /** Records written and records delivered, ever: a flush waits for those written before it, not for later ones. */
  private written = 0;
  private delivered = 0;
  private linger: NodeJS.Timeout | undefined;
  private error: unknown;
  private failed = false;

  constructor(private readonly options: OrderedDeliveryOptions<T>) {}

  /** Buffers the records; returns their bytes. */
  write(records: readonly T[]): number {
    let bytes = 0;
    for (const record of records) bytes += this.options.bytesOf(record);
    if (this.failed) {
      // Never delivered: settled at once, not held.
      this.options.onSettled?.(bytes);
      return bytes;
    }
    for (const record of records) this.records.push(record);
    this.written += records.length;
    this.bufferedBytes += bytes;
    this.schedule();
    return bytes;
  }

  /** Bytes buffered or out. */
  get pendingBytes(): number {
    return this.bufferedBytes + this.inFlightBytes;
  }

  get buffered(): number {
    return this.records.length;
  }

  /** Whether a delivery failed (or fail() was called): nothing more is delivered. */
  get hasFailed(): boolean {
    return this.failed;
  }

  get failure(): unknown {
    return this.error;
  }

  /** Starts delivering what is buffered now, without waiting for the linger. */
  kick(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.running || this.records.length === 0 || this.failed) return;
    this.running = true;
    void this.deliverAll().finally(() => {
      this.running = false;
      // Written after the loop's last look (between its end and this callback): not left behind.
      this.schedule();
    });
  }

  /** Resolves once every record written before the call is delivered; throws the failure if one came first. */
  async flush(): Promise<void> {
    const until = this.written;
    while (this.delivered < until && !this.failed) {
      this.kick();
      await this.round;
    }
    if (this.failed) throw this.error;
  }

  /** Resolves once the delivery now out (if any) is back. */
  async settled(): Promise<void> {
    await this.round;
  }

  /** Stops for good with this error (the first one kept): what is buffered is dropped (and settled); a delivery out still finishes. */
  fail(error: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.error = error;
    }
    clearTimeout(this.linger);
    this.linger = undefined;
    const dropped = this.bufferedBytes;
    this.records = [];
    this.bufferedBytes = 0;
    if (dropped > 0) this.options.onSettled?.(dropped);
  }

  /** What buffered records wait for: nothing (a delivery out takes them next), a delivery now, or the linger. */
  private schedule(): void {
    if (this.running || this.records.length === 0 || this.failed) return;
    const { lingerMs } = this.options;
    if (this.bufferedBytes >= this.options.chunkBytes || lingerMs === 0) this.kick();
    else if (lingerMs !== undefined) this.linger ??= setTimeout(() => this.kick(), lingerMs);
  }

  /** Delivers what is buffered, then what was written meanwhile, until nothing is left or a delivery fails. */
  private async deliverAll(): Promise<void> {
    while (this.records.length > 0 && !this.failed) {
      const records = this.records;
      const bytes = this.bufferedBytes;
      this.records = [];
      this.bufferedBytes = 0;
      this.round = this.deliverTaken(records, bytes);
      await this.round;
    }
  }

  private async deliverTaken(records: T[], bytes: number): Promise<void> {
    this.inFlightBytes += bytes;
    try {
      // One write may hold far more than a chunk (a task's alerts): each delivery carries at most chunkBytes.
      for (const { records: chunk } of byteChunks(records, this.options.chunkBytes, this.options.bytesOf)) {
        if (this.failed) return;
        await this.options.deliver(chunk);
        this.delivered += chunk.length;
      }
    } catch (error) {
      // What was written meanwhile will never go either: settled now, not held until someone calls fail().
      this.fail(error);
    } finally {
      this.inFlightBytes -= bytes;
      this.options.onSettled?.(bytes);
    }
  }
}
