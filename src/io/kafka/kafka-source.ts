import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { EngineOptions, KafkaSourceConfig } from '../../config/types.js';
import { SourceError } from '../../errors.js';
import type { Source, SourceBatch } from '../types.js';
import { createKafka, ensureTopic } from './client.js';

/** A source batch that remembers the Kafka offsets it covers. */
interface KafkaBatch extends SourceBatch {
  readonly offsets: readonly string[];
}

const MAX_QUEUED_BATCHES = 8;
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
  private nextWaiter: ((batch: KafkaBatch | null) => void) | undefined;
  private roomWaiters: Array<() => void> = [];
  private readonly lagByPartition = new Map<number, number>();
  private assigned = new Set<number>();
  private stopped = false;

  private constructor(
    private readonly consumer: Consumer,
    private readonly config: KafkaSourceConfig,
    private readonly batchSize: number,
  ) {}

  static async connect(config: KafkaSourceConfig, engine: EngineOptions): Promise<KafkaSource> {
    const kafka = createKafka(config.brokers, config.clientId);
    await ensureTopic(kafka, config.topic, config.partitions);
    const consumer = kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 << 20,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 50 },
    });
    const source = new KafkaSource(consumer, config, engine.batchSize);
    consumer.on(consumer.events.GROUP_JOIN, (event) => source.onAssignment(event.payload.memberAssignment));
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

  next(): Promise<SourceBatch | null> {
    const batch = this.queue.shift();
    if (batch !== undefined) {
      this.roomWaiters.shift()?.();
      return Promise.resolve(batch);
    }
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.nextWaiter = resolve;
    });
  }

  async commit(batches: readonly SourceBatch[]): Promise<void> {
    const last = new Map<number, string>();
    for (const batch of batches as readonly KafkaBatch[]) last.set(batch.partition, batch.offsets[batch.offsets.length - 1] as string);
    const offsets = [...last].map(([partition, offset]) => ({
      topic: this.config.topic,
      partition,
      offset: (BigInt(offset) + 1n).toString(),
    }));
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
    for (const value of this.lagByPartition.values()) lag += value;
    for (const batch of this.queue) lag += batch.values.length;
    return lag;
  }

  stop(): void {
    this.stopped = true;
    this.nextWaiter?.(null);
    this.nextWaiter = undefined;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    this.stop();
    await this.consumer.disconnect();
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { messages, partition } = batch;
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
      this.push({
        partition,
        values,
        keys: slice.map((m) => m.key),
        timestamps: Float64Array.from(slice, (m) => Number(m.timestamp)),
        offsets,
        position: (i) => ({ topic, partition, offset: offsets[i] as string }),
      });
      // Resolved means "fetch past it", not committed: commits come only from commit().
      resolveOffset(offsets[offsets.length - 1] as string);
    }
    this.lagByPartition.set(partition, Number(batch.offsetLag()));
  }

  private push(batch: KafkaBatch): void {
    if (this.nextWaiter !== undefined) {
      const wake = this.nextWaiter;
      this.nextWaiter = undefined;
      wake(batch);
    } else {
      this.queue.push(batch);
    }
  }

  // Queued records of partitions taken away are dropped: their new owner replays them from the last commit.
  private onAssignment(assignment: Record<string, number[]>): void {
    this.assigned = new Set(assignment[this.config.topic] ?? []);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (!this.assigned.has((this.queue[i] as KafkaBatch).partition)) this.queue.splice(i, 1);
    }
    for (const partition of [...this.lagByPartition.keys()]) {
      if (!this.assigned.has(partition)) this.lagByPartition.delete(partition);
    }
  }
}

function isRebalance(error: unknown): boolean {
  const type = (error as { type?: string }).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR';
}
