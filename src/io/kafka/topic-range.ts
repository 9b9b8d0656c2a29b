import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { SourceError, UsageError } from '../../errors.js';
import type { SourceBatch } from '../types.js';
import { MAX_QUEUED_BATCHES, waitForRoom } from './batch-room.js';
import { createKafka } from './client.js';

/** A partition's offsets as Kafka retains them: records from `low` to `high` − 1. */
export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/** What to read of one partition: [start, end), the records before `countFrom` only as warm-up. */
export interface PartitionRange {
  partition: number;
  start: number;
  countFrom: number;
  end: number;
}

/** The record timestamps of the oldest and the newest record the topic retains (ms). */
export interface RetainedTimes {
  oldest: number;
  newest: number;
}

export interface RangeBatch {
  batch: SourceBatch;
  /** Records before their partition's countFrom. */
  warmup: boolean;
}

/** How long probing the oldest and newest records may take before it counts as a broker not answering. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * A topic read as history (`klaxon backtest`), never as a member of anyone's
 * consumer group: offsets by record time on every partition, the oldest and
 * newest retained records, and ranges of offsets read through a consumer of
 * a group of its own (random, committing nothing). Nothing is written and
 * no topic is created: the admin client never auto-creates, the consumers
 * are told not to.
 */
export class TopicRange {
  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    readonly topic: string,
    readonly partitions: readonly PartitionOffsets[],
  ) {}

  /** The topic's retained offsets; a topic that does not exist is a usage error (exit 2). */
  static async open(brokers: string[], topic: string, clientId: string): Promise<TopicRange> {
    const kafka = createKafka(brokers, `${clientId}-backtest`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(topic)) throw new UsageError(`topic ${topic} does not exist on ${brokers.join(',')}`);
      const offsets = await admin.fetchTopicOffsets(topic);
      const partitions = offsets.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })).sort((a, b) => a.partition - b.partition);
      return new TopicRange(kafka, admin, topic, partitions);
    } catch (error) {
      await admin.disconnect().catch(() => {});
      if (error instanceof UsageError) throw error;
      throw new SourceError(`cannot read the offsets of topic ${topic} on ${brokers.join(',')}`, { cause: error, retriable: true });
    }
  }

  /** Per partition, the first offset whose record time is at or after `ts` (the partition's end when none is). */
  async offsetsAt(ts: number): Promise<Map<number, number>> {
    const found = new Map<number, number>();
    for (const { partition, offset } of await this.admin.fetchTopicOffsetsByTimestamp(this.topic, ts)) found.set(partition, Number(offset));
    for (const { partition, low, high } of this.partitions) found.set(partition, Math.min(high, Math.max(low, found.get(partition) ?? high)));
    return found;
  }

  /**
   * The record times of the oldest and the newest record retained (over
   * every partition), read from the records themselves; undefined when the
   * topic holds none.
   */
  async retained(): Promise<RetainedTimes | undefined> {
    const wanted = this.partitions.filter((p) => p.high > p.low);
    if (wanted.length === 0) return undefined;
    const found = new Map<number, { oldest?: number; newest?: number }>(wanted.map((p) => [p.partition, {}]));
    const { consumer, dispose } = this.consumer();
    let finish = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const complete = () => [...found.values()].every((f) => f.oldest !== undefined && f.newest !== undefined);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, isStale }: EachBatchPayload) => {
          const range = wanted.find((p) => p.partition === batch.partition);
          const times = found.get(batch.partition);
          if (range === undefined || times === undefined || isStale()) return;
          if (times.oldest === undefined && batch.messages.length === 0 && Number(batch.lastOffset()) >= range.high - 1) {
            // Nothing but transaction markers (or records deleted meanwhile): no record time to tell.
            found.delete(range.partition);
            consumer.pause([{ topic: this.topic, partitions: [range.partition] }]);
            if (complete()) finish();
            return;
          }
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (times.oldest === undefined && offset >= range.low) times.oldest = Number(message.timestamp);
            if (offset >= range.high - 1) times.newest = Number(message.timestamp);
          }
          // The newest offset may be a transaction marker, never delivered: then the newest record seen stands for it.
          if (times.oldest !== undefined && times.newest === undefined && Number(batch.lastOffset()) >= range.high - 1) {
            times.newest = Math.max(times.oldest, ...batch.messages.map((m) => Number(m.timestamp)));
          }
          if (times.oldest !== undefined && times.newest === undefined)
            consumer.seek({ topic: this.topic, partition: range.partition, offset: String(range.high - 1) });
          if (times.newest !== undefined) consumer.pause([{ topic: this.topic, partitions: [range.partition] }]);
          if (complete()) finish();
        },
      });
      for (const { partition, low } of wanted) consumer.seek({ topic: this.topic, partition, offset: String(low) });
      await within(finished, PROBE_TIMEOUT_MS, `the oldest and newest records of topic ${this.topic} were not read within ${PROBE_TIMEOUT_MS / 1000} s`);
    } finally {
      await dispose();
    }
    const times = [...found.values()];
    if (times.length === 0) return undefined;
    return { oldest: Math.min(...times.map((t) => t.oldest as number)), newest: Math.max(...times.map((t) => t.newest as number)) };
  }

  /** Reads the ranges; start() must be awaited before the first next(). */
  reader(ranges: readonly PartitionRange[], batchSize: number): TopicRangeReader {
    const { consumer, dispose } = this.consumer();
    return new TopicRangeReader(consumer, dispose, this.topic, ranges, batchSize);
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  /**
   * A consumer of a group of its own, that never commits and never creates
   * the topic; disposing of it disconnects it and deletes its group (empty,
   * with no offsets: the broker would only list it until it expires).
   */
  private consumer(): { consumer: Consumer; dispose: () => Promise<void> } {
    const groupId = `klaxon-backtest-${randomUUID()}`;
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: 4 << 20,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 20 },
    });
    const dispose = async () => {
      await consumer.disconnect().catch(() => {});
      await this.admin.deleteGroups([groupId]).catch(() => {});
    };
    return { consumer, dispose };
  }
}

/**
 * The records of some offset ranges, in offset order per partition, in
 * batches that are all warm-up or all counted. The one member of a group
 * of its own gets every partition, seeks each to its start and pauses it at
 * its end; nothing is committed.
 */
export class TopicRangeReader {
  private readonly queue: RangeBatch[] = [];
  private readonly ranges: Map<number, PartitionRange>;
  private readonly nextOffset = new Map<number, number>();
  private readonly pending: Set<number>;
  private waiter: { resolve: (batch: RangeBatch | null) => void; reject: (error: unknown) => void } | undefined;
  private roomWaiters: Array<() => void> = [];
  private failure: unknown;
  private stopped = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly dispose: () => Promise<void>,
    private readonly topic: string,
    ranges: readonly PartitionRange[],
    private readonly batchSize: number,
  ) {
    this.ranges = new Map(ranges.map((range) => [range.partition, range]));
    this.pending = new Set(ranges.filter((r) => r.end > r.start).map((r) => r.partition));
    for (const range of ranges) this.nextOffset.set(range.partition, range.start);
  }

  async start(): Promise<void> {
    if (this.pending.size === 0) return;
    const { consumer, topic } = this;
    // A restarted consumer would start again where the group has nothing committed (the end): no second chance.
    consumer.on(consumer.events.CRASH, (event) => this.fail(new SourceError(`the consumer reading topic ${topic} failed`, { cause: event.payload.error })));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic });
      await consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    } catch (error) {
      throw new SourceError(`cannot read topic ${topic}`, { cause: error, retriable: true });
    }
    const idle = [...this.ranges.values()].filter((r) => !this.pending.has(r.partition)).map((r) => r.partition);
    if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
    for (const partition of this.pending) consumer.seek({ topic, partition, offset: String(this.ranges.get(partition)?.start) });
  }

  next(): Promise<RangeBatch | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const batch = this.queue.shift();
    if (batch !== undefined) {
      this.roomWaiters.shift()?.();
      return Promise.resolve(batch);
    }
    if (this.pending.size === 0 || this.stopped) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const wake of this.roomWaiters.splice(0)) wake();
    await this.dispose();
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const range = this.ranges.get(batch.partition);
    if (range === undefined || !this.pending.has(range.partition) || isStale()) return;
    const from = this.nextOffset.get(range.partition) ?? range.start;
    const messages = batch.messages.filter((m) => Number(m.offset) >= from && Number(m.offset) < range.end);
    for (let start = 0; start < messages.length; ) {
      const warmup = Number(messages[start]?.offset) < range.countFrom;
      let end = start + 1;
      while (end < messages.length && end - start < this.batchSize && Number(messages[end]?.offset) < range.countFrom === warmup) end++;
      const slice = messages.slice(start, end);
      start = end;
      if (!(await waitForRoom(() => this.queue.length >= MAX_QUEUED_BATCHES && !this.stopped, this.roomWaiters, { isRunning, isStale, heartbeat }))) return;
      if (this.stopped) return;
      const offsets = slice.map((m) => Number(m.offset));
      const topic = this.topic;
      const partition = range.partition;
      this.push({
        warmup,
        batch: {
          partition,
          values: slice.map((m) => m.value ?? Buffer.alloc(0)),
          keys: slice.map((m) => m.key),
          timestamps: Float64Array.from(slice, (m) => Number(m.timestamp)),
          offsets,
          position: (i) => ({ topic, partition, offset: String(offsets[i]) }),
        },
      });
      this.nextOffset.set(partition, (offsets[offsets.length - 1] as number) + 1);
    }
    // Past the end (a marker or a filtered record may be the last offset): this partition is read.
    if (Number(batch.lastOffset()) >= range.end - 1) {
      this.pending.delete(range.partition);
      this.consumer.pause([{ topic: this.topic, partitions: [range.partition] }]);
      if (this.pending.size === 0 && this.queue.length === 0) this.resolveWaiter(null);
    }
  }

  private push(batch: RangeBatch): void {
    if (this.waiter !== undefined) this.resolveWaiter(batch);
    else this.queue.push(batch);
  }

  private resolveWaiter(batch: RangeBatch | null): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(batch);
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }
}

async function within(work: Promise<void>, ms: number, message: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceError(message, { retriable: true })), ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
