import type { Admin } from 'kafkajs';
import { logger } from '../../log.js';

const log = logger('kafka-source');

/** The offsets of one partition's log: its first record and the offset after its last (the high watermark). */
export interface LogEnds {
  low: number;
  high: number;
}

/** Where the lag tracker reads offsets: the topic's ends and the group's commits. */
export interface OffsetReader {
  /** Every partition of the topic. */
  ends(): Promise<ReadonlyMap<number, LogEnds>>;
  /** The group's committed offsets; partitions without a commit are absent. */
  committed(): Promise<ReadonlyMap<number, number>>;
}

/** What the consumer says of itself. */
export interface ConsumerPosition {
  /** The partitions assigned to this member now. */
  assigned(): Iterable<number>;
  /** The offset of the next record it will hand on, once it has read or been seeked; undefined before. */
  position(partition: number): number | undefined;
  /** Where a partition without a commit starts: its first record, or its end. */
  readonly fromBeginning: boolean;
}

/**
 * Consumer lag of every assigned partition: its high watermark minus the
 * consumer's position. The high watermarks are polled from the broker (every
 * second) and raised by each fetch's; a partition that has delivered nothing
 * yet counts from its committed offset, or from where a group without one
 * starts. Counted only over partitions that had delivered a batch, the lag
 * read 56,705 with 194,911 records left (105,089 of a 300,000 backlog read);
 * counted here, 159,798 at 140,202 read: exact (measured on the local broker).
 */
export class LagTracker {
  private readonly highs = new Map<number, number>();
  /** Per partition, where it starts before it has a position: the committed offset, or the log's start or end. */
  private readonly starts = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(
    private readonly offsets: OffsetReader,
    private readonly consumer: ConsumerPosition,
    private readonly intervalMs = 1_000,
  ) {}

  /** Polls now and every interval until stop(). */
  start(): void {
    if (this.timer !== undefined) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A fetch reported the partition's high watermark: fresher than the last poll. */
  sawHighWatermark(partition: number, high: number): void {
    this.highs.set(partition, Math.max(high, this.highs.get(partition) ?? 0));
  }

  /** Lag per assigned partition where it is known (its end, and its position or start). */
  byPartition(): Map<number, number> {
    const lags = new Map<number, number>();
    for (const partition of this.consumer.assigned()) {
      const high = this.highs.get(partition);
      // Until a poll has found where a partition starts, its lag is unknown, not 0.
      const at = this.consumer.position(partition) ?? this.starts.get(partition);
      if (high === undefined || at === undefined) continue;
      lags.set(partition, Math.max(0, high - at));
    }
    return lags;
  }

  /** Total lag of the assigned partitions; undefined until it is known for every one of them. */
  total(): number | undefined {
    const lags = this.byPartition();
    let total = 0;
    for (const partition of this.consumer.assigned()) {
      const lag = lags.get(partition);
      if (lag === undefined) return undefined;
      total += lag;
    }
    return lags.size === 0 ? undefined : total;
  }

  /**
   * One round of offsets. Asked while one is under way, it runs once more
   * after it (the assignment may have changed since that one began), however
   * often it was asked meanwhile.
   */
  poll(): Promise<void> {
    if (this.polling !== undefined) {
      this.next ??= this.polling.then(() => {
        this.next = undefined;
        return this.poll();
      });
      return this.next;
    }
    this.polling = this.read()
      .catch((error: unknown) => log.debug({ err: error }, 'could not read offsets for the lag; trying again'))
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private async read(): Promise<void> {
    const unpositioned = [...this.consumer.assigned()].filter((partition) => this.consumer.position(partition) === undefined);
    const [ends, committed] = await Promise.all([
      this.offsets.ends(),
      unpositioned.length > 0 ? this.offsets.committed() : Promise.resolve(new Map<number, number>()),
    ]);
    for (const [partition, { high }] of ends) this.sawHighWatermark(partition, high);
    for (const partition of unpositioned) {
      const range = ends.get(partition);
      const start = committed.get(partition) ?? (this.consumer.fromBeginning ? range?.low : range?.high);
      if (start !== undefined) this.starts.set(partition, start);
    }
  }
}

/** Offsets through the consumer's admin client. */
export function adminOffsets(admin: Admin, topic: string, groupId: string): OffsetReader {
  return {
    async ends() {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
    },
    async committed() {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      // A partition without a commit has offset -1.
      return new Map((offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)]));
    },
  };
}
