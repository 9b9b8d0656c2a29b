import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { EngineOptions, KafkaSourceConfig } from '../../config/types.js';
import { SourceError } from '../../errors.js';
import type { PartitionHandler, Source, SourceBatch } from '../types.js';
import { createKafka, ensureTopic } from './client.js';
import type { KafkaTransactions } from './transactions.js';

/** A source batch that remembers the Kafka offsets it covers. */
interface KafkaBatch extends SourceBatch {
  readonly offsets: readonly string[];
}

// Enough queued work to keep the workers busy while kafkajs decodes the next fetch on this thread.
const MAX_QUEUED_BATCHES = 16;

/**
 * How the engine's consumer fetches (the benchmark's plain consumer uses the
 * same). kafkajs decodes a whole fetch on the coordinator thread before
 * handing anything on, which leaves the workers idle meanwhile; smaller
 * fetches (2 MiB) were measured slower overall, so fetches stay large.
 */
export const CONSUMER_SETTINGS = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 20_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 100,
  maxBytesPerPartition: 4 << 20,
  retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 50 },
} as const;
const COMMIT_RETRY_MS = 60_000;

/**
 * Readings from a Kafka topic, as a member of a consumer group. kafkajs's
 * `eachBatch` only queues the fetched records (a bounded queue: when it is
 * full the handler waits, heartbeating, and the fetcher pauses: that is the
 * backpressure). Offsets are committed only through commit(), i.e. after the
 * engine has written every alert of those records: at-least-once, never ahead.
 */
export class KafkaSource implements Source {
  private readonly queue: KafkaBatch[] = [];
  private nextWaiter: { resolve: (batch: KafkaBatch | null) => void; reject: (error: unknown) => void } | undefined;
  /** Set when consuming cannot go on (state that cannot be loaded, a crashed consumer): next() rejects with it. */
  private failure: unknown;
  private roomWaiters: Array<() => void> = [];
  private readonly partitionLag = new Map<number, number>();
  private assigned = new Set<number>();
  private stopped = false;
  private handler: PartitionHandler | undefined;
  /** Partitions whose state is loaded since they were (re)assigned. */
  private readonly loaded = new Set<number>();
  /** State loads started at assignment, so that all partitions load at once rather than one per first fetch. */
  private readonly loading = new Map<number, Promise<string | null>>();
  /** Per partition: records before this offset are a replay (already committed before a restart). */
  private readonly replayUntil = new Map<number, bigint>();
  /** Per partition: the offset after the last record handed on (a rebalance re-fetches from the commit). */
  private readonly pushedUntil = new Map<number, bigint>();

  private constructor(
    private readonly consumer: Consumer,
    private readonly config: KafkaSourceConfig,
    private readonly batchSize: number,
    private readonly transactions: KafkaTransactions | undefined,
  ) {}

  /**
   * With `transactions` (exactly-once), commit() commits the open transaction
   * with the offsets instead of committing them through the consumer.
   */
  static async connect(config: KafkaSourceConfig, engine: EngineOptions, transactions?: KafkaTransactions): Promise<KafkaSource> {
    const kafka = createKafka(config.brokers, config.clientId);
    await ensureTopic(kafka, config.topic, config.partitions);
    const consumer = kafka.consumer({ groupId: config.groupId, ...CONSUMER_SETTINGS });
    const source = new KafkaSource(consumer, config, engine.batchSize, transactions);
    consumer.on(consumer.events.GROUP_JOIN, (event) => source.onAssignment(event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) source.fail(new SourceError(`the Kafka consumer of ${config.topic} stopped`, { cause: event.payload.error }));
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: config.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => source.onBatch(payload),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw new SourceError(`cannot consume topic ${config.topic} from ${config.brokers.join(',')}`, { cause: error, retriable: true });
    }
    return source;
  }

  setPartitionHandler(handler: PartitionHandler): void {
    this.handler = handler;
  }

  next(): Promise<SourceBatch | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const batch = this.queue.shift();
    if (batch !== undefined) {
      this.roomWaiters.shift()?.();
      return Promise.resolve(batch);
    }
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.nextWaiter = { resolve, reject };
    });
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.nextWaiter?.reject(this.failure);
    this.nextWaiter = undefined;
  }

  async commit(batches: readonly SourceBatch[]): Promise<void> {
    const last = new Map<number, string>();
    for (const batch of batches as readonly KafkaBatch[]) {
      // A partition that left during a rebalance is its new owner's to commit.
      if (this.assigned.has(batch.partition)) last.set(batch.partition, batch.offsets[batch.offsets.length - 1] as string);
    }
    const offsets = [...last].map(([partition, offset]) => ({
      topic: this.config.topic,
      partition,
      offset: (BigInt(offset) + 1n).toString(),
    }));
    if (this.transactions !== undefined) {
      await this.transactions.commit(this.config.groupId, offsets);
      return;
    }
    if (offsets.length === 0) return;
    const deadline = Date.now() + COMMIT_RETRY_MS;
    for (;;) {
      try {
        await this.consumer.commitOffsets(offsets);
        return;
      } catch (error) {
        // A partition that moved to another member is replayed there from its last commit.
        if (isRebalance(error)) return;
        if (Date.now() > deadline) throw new SourceError(`cannot commit offsets of ${this.config.topic}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  lag(): number | undefined {
    let lag = 0;
    for (const value of this.partitionLag.values()) lag += value;
    for (const batch of this.queue) lag += batch.values.length;
    return lag;
  }

  owns(partition: number): boolean {
    return this.assigned.has(partition);
  }

  lagByPartition(): ReadonlyMap<number, number> {
    return this.partitionLag;
  }

  ready(): boolean {
    if (this.assigned.size === 0) return false;
    if (this.handler === undefined) return true;
    for (const partition of this.assigned) if (!this.loaded.has(partition)) return false;
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.nextWaiter?.resolve(null);
    this.nextWaiter = undefined;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    this.stop();
    await this.consumer.disconnect();
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { partition } = batch;
    const pushed = this.pushedUntil.get(partition) ?? -1n;
    const messages = batch.messages.filter((m) => BigInt(m.offset) >= pushed);
    if (messages.length === 0) {
      if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
      return;
    }
    if (this.handler !== undefined && !this.loaded.has(partition)) {
      let seekTo: string | undefined;
      try {
        seekTo = await this.recover(partition, messages[0]?.offset as string, heartbeat);
      } catch (error) {
        // Unusable state is not retried batch after batch: the engine stops and says why.
        this.fail(error);
        return;
      }
      if (seekTo !== undefined) {
        // The rest of this batch is stale after the seek; the next fetch starts at the snapshot.
        this.consumer.seek({ topic: this.config.topic, partition, offset: seekTo });
        return;
      }
    }
    for (let start = 0; start < messages.length; start += this.batchSize) {
      const slice = messages.slice(start, start + this.batchSize);
      while (this.queue.length >= MAX_QUEUED_BATCHES && !this.stopped) {
        await new Promise<void>((resolve) => {
          this.roomWaiters.push(resolve);
          setTimeout(resolve, 1_000);
        });
        if (!isRunning() || isStale()) return;
        await heartbeat();
      }
      if (this.stopped || !isRunning() || isStale()) return;
      const values = slice.map((m) => m.value ?? Buffer.alloc(0));
      const offsets = slice.map((m) => m.offset);
      const topic = batch.topic;
      const last = offsets[offsets.length - 1] as string;
      this.push({
        partition,
        values,
        keys: slice.map((m) => m.key),
        timestamps: Float64Array.from(slice, (m) => Number(m.timestamp)),
        offsets,
        position: (i) => ({ topic, partition, offset: offsets[i] as string }),
        resumeAt: (BigInt(last) + 1n).toString(),
        replayed: this.replayedIn(partition, offsets),
      });
      // Resolved means "fetch past it", not committed: commits come only from commit().
      resolveOffset(last);
      this.pushedUntil.set(partition, BigInt(last) + 1n);
    }
    this.partitionLag.set(partition, Number(batch.offsetLag()));
  }

  /**
   * Loads a newly assigned partition's state. `committed` is where the group
   * resumed it (the first fetched offset). Returns where to seek when the
   * state is older than that: records from there up to `committed` are replayed.
   */
  private async recover(partition: number, committed: string, heartbeat: () => Promise<void>): Promise<string | undefined> {
    const loading = this.loading.get(partition) ?? this.load(partition);
    // A big partition takes seconds to load: keep the group membership alive meanwhile.
    let loaded = false;
    const settle = () => {
      loaded = true;
    };
    loading.then(settle, settle);
    while (!loaded) {
      await Promise.race([loading.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000))]);
      if (!loaded) await heartbeat().catch(() => {});
    }
    const snapshotAt = await loading;
    this.loading.delete(partition);
    this.loaded.add(partition);
    const from = BigInt(snapshotAt ?? '0');
    const to = BigInt(committed);
    if (from === to) return undefined;
    if (from < to) this.replayUntil.set(partition, to);
    return from.toString();
  }

  private load(partition: number): Promise<string | null> {
    const loading = (this.handler as PartitionHandler).assigned(partition);
    this.loading.set(partition, loading);
    // Awaited by the partition's first batch; a failure is reported there, not as an unhandled rejection.
    loading.catch(() => {});
    return loading;
  }

  private replayedIn(partition: number, offsets: readonly string[]): number {
    const until = this.replayUntil.get(partition);
    if (until === undefined) return 0;
    let replayed = 0;
    while (replayed < offsets.length && BigInt(offsets[replayed] as string) < until) replayed++;
    if (BigInt(offsets[offsets.length - 1] as string) + 1n >= until) this.replayUntil.delete(partition);
    return replayed;
  }

  private push(batch: KafkaBatch): void {
    if (this.nextWaiter !== undefined) {
      const wake = this.nextWaiter;
      this.nextWaiter = undefined;
      wake.resolve(batch);
    } else {
      this.queue.push(batch);
    }
  }

  // Queued records of partitions taken away are dropped: their new owner replays them from the last commit.
  private onAssignment(assignment: Record<string, number[]>): void {
    const previous = this.assigned;
    this.assigned = new Set(assignment[this.config.topic] ?? []);
    const revoked = [...previous].filter((p) => !this.assigned.has(p));
    // Kept partitions go on from where they were; a partition that comes back recovers from the store.
    for (const partition of revoked) {
      this.loaded.delete(partition);
      this.loading.delete(partition);
      this.replayUntil.delete(partition);
      this.pushedUntil.delete(partition);
    }
    if (this.handler !== undefined) {
      for (const partition of this.assigned) if (!previous.has(partition) && !this.loading.has(partition)) this.load(partition);
    }
    if (revoked.length > 0) {
      this.handler?.revoked(revoked).catch((error: unknown) => process.stderr.write(`klaxon: releasing partitions ${revoked.join(',')}: ${String(error)}\n`));
    }
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (!this.assigned.has((this.queue[i] as KafkaBatch).partition)) this.queue.splice(i, 1);
    }
    for (const partition of [...this.partitionLag.keys()]) {
      if (!this.assigned.has(partition)) this.partitionLag.delete(partition);
    }
  }
}

function isRebalance(error: unknown): boolean {
  const type = (error as { type?: string }).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR';
}
