import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import pRetry from 'p-retry';
import type { EngineOptions, KafkaSourceConfig } from '../../config/types.js';
import { SourceError } from '../../errors.js';
import { logger } from '../../log.js';
import type { PartitionControl, PartitionListener, Source, SourceBatch } from '../types.js';
import { MAX_QUEUED_BATCHES, waitForRoom } from './batch-room.js';
import { createKafka, ensureTopic } from './client.js';
import { type FetchedBatch, FetchedBatches, fetchedBatch, packFetched } from './fetched-batches.js';
import { adminOffsets, LagTracker } from './lag.js';
import { consumerSettings } from './options.js';
import { kafkaOutage } from './outage.js';
import { useRecordDecoder } from './record-batch-decoder.js';

const log = logger('kafka-source');

const COMMIT_RETRY_MS = 60_000;
/** After kafkajs gave up on its consumer, how long until it is started again. */
const RESTART_AFTER_MS = 2_000;
/** No heartbeat or fetch answered for this long: the broker is not answering. */
const SILENCE_MS = 5_000;

/**
 * Readings from a Kafka topic, as a member of a consumer group. kafkajs's
 * `eachBatch` only queues the fetched records (a bounded queue: when it is
 * full the handler waits, heartbeating, and the fetcher pauses: that is the
 * backpressure). Offsets are committed only through commit(), i.e. after the
 * engine has written every alert of those records: never ahead.
 *
 * A newly assigned partition's records are held back until the engine's
 * listener has recovered it (which may seek); kafkajs has no blocking
 * rebalance callback, so the hold happens in the batch handler, heartbeating.
 */
export class KafkaSource implements Source {
  readonly partitions: PartitionControl;
  private readonly queue: FetchedBatches;
  private nextWaiter: { resolve: (batch: SourceBatch | null) => void; reject: (error: unknown) => void } | undefined;
  /** Set when consuming cannot go on (state that cannot be loaded, a crashed consumer): next() rejects with it. */
  private failure: unknown;
  private roomWaiters: Array<() => void> = [];
  private assigned = new Set<number>();
  private stopped = false;
  private listener: PartitionListener | undefined;
  private running: Promise<void> | undefined;
  /** This member's id in the group: a new one means the group forgot us, and every partition is new again. */
  private memberId: string | undefined;
  /** When the broker last answered a heartbeat or a fetch (performance.now()). */
  private lastHeard = performance.now();
  private readonly watchdog: NodeJS.Timeout;
  /** Per partition: settles once the listener has recovered it (records wait for it). */
  private readonly recovering = new Map<number, Promise<void>>();
  /** Per partition: the offset after the last record handed on (a rebalance re-fetches kept partitions from the commit). */
  private readonly nextOffset = new Map<number, number>();
  /** Lag of every assigned partition, from the broker's high watermarks (lag.ts). */
  private readonly lagTracker: LagTracker;

  private constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly config: KafkaSourceConfig,
    private readonly batchSize: number,
  ) {
    this.queue = new FetchedBatches(batchSize);
    this.partitions = {
      listen: (listener) => {
        this.listener = listener;
      },
      committed: (partition) => this.committed(partition),
      earliest: (partition) => this.watermark(partition, 'low'),
      initial: (partition) => this.watermark(partition, this.config.fromBeginning ? 'low' : 'high'),
      recover: (partition) => this.recover(partition),
      seek: (partition, offset) => this.seek(partition, offset),
      owns: (partition) => this.assigned.has(partition),
    };
    this.watchdog = setInterval(() => {
      if (!this.stopped && this.running !== undefined && !this.connected())
        kafkaOutage.failing(new Error(`no answer to heartbeats or fetches for ${Math.round((performance.now() - this.lastHeard) / 1000)} s`), 'the consumer');
    }, 1_000);
    this.watchdog.unref();
    this.lagTracker = new LagTracker(adminOffsets(admin, config.topic, config.groupId), {
      assigned: () => this.assigned,
      position: (partition) => this.nextOffset.get(partition),
      fromBeginning: config.fromBeginning,
    });
  }

  static async connect(config: KafkaSourceConfig, engine: EngineOptions): Promise<KafkaSource> {
    if (!useRecordDecoder(config.recordDecoder) && config.recordDecoder === 'klaxon')
      log.warn("kafkajs's fetch decoding was loaded before Klaxon's record decoder could take its place: kafkajs's own decodes the records");
    const kafka = createKafka(config.brokers, config.clientId);
    await ensureTopic(kafka, config.topic, config.partitions);
    const consumer = kafka.consumer({ groupId: config.groupId, ...consumerSettings(config) });
    const admin = kafka.admin();
    const source = new KafkaSource(consumer, admin, config, engine.batchSize);
    consumer.on(consumer.events.GROUP_JOIN, (event) => source.onAssignment(event.payload.memberId, event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => source.onCrash(event.payload.error, event.payload.restart));
    consumer.on(consumer.events.HEARTBEAT, () => source.heard());
    consumer.on(consumer.events.FETCH, () => source.heard());
    try {
      await admin.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: config.fromBeginning });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      throw new SourceError(`cannot consume topic ${config.topic} from ${config.brokers.join(',')}`, { cause: error, retriable: true });
    }
    source.lagTracker.start();
    return source;
  }

  next(): Promise<SourceBatch | null> {
    // The group is joined on the first read, once the engine listens for partitions.
    this.running ??= this.run();
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

  async commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]> {
    // A partition that left during a rebalance is its new owner's to commit.
    const skipped = [...positions.keys()].filter((partition) => !this.assigned.has(partition));
    const offsets = [...positions]
      .filter(([partition]) => this.assigned.has(partition))
      .map(([partition, offset]) => ({ topic: this.config.topic, partition, offset: String(offset) }));
    if (offsets.length === 0) return skipped;
    try {
      await pRetry(() => this.consumer.commitOffsets(offsets), {
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: COMMIT_RETRY_MS,
        minTimeout: 500,
        maxTimeout: 500,
        // A partition that moved to another member is replayed there from its last commit.
        shouldRetry: ({ error }) => !isRebalance(error),
      });
      return skipped;
    } catch (error) {
      // Nothing committed; a partition this member keeps is not handed to it again, so its positions are asked for again.
      if (isRebalance(error)) return [...positions.keys()];
      kafkaOutage.failing(error, 'committing offsets');
      throw new SourceError(`cannot commit offsets of ${this.config.topic}`, { cause: error, retriable: true });
    }
  }

  /** Records behind the high watermarks of the assigned partitions, with those fetched but not yet handed on. */
  lag(): number | undefined {
    const behind = this.lagTracker.total();
    if (behind === undefined) return undefined;
    return behind + this.queue.records;
  }

  /**
   * The consumer heartbeats every second and fetches every 100 ms when idle:
   * silence for longer than a few heartbeats means the broker is not
   * answering (a paused or unreachable broker answers nothing, so nothing
   * fails, and an idle engine would otherwise look healthy).
   */
  connected(): boolean {
    return performance.now() - this.lastHeard <= SILENCE_MS;
  }

  private heard(): void {
    this.lastHeard = performance.now();
    kafkaOutage.answering();
  }

  lagByPartition(): ReadonlyMap<number, number> {
    return this.lagTracker.byPartition();
  }

  stop(): void {
    this.stopped = true;
    this.nextWaiter?.resolve(null);
    this.nextWaiter = undefined;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    this.stop();
    clearInterval(this.watchdog);
    // Owning nothing from here: a late assignment or recovery must not touch a closing engine.
    this.assigned = new Set();
    this.lagTracker.stop();
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }

  private async committed(partition: number): Promise<number | null> {
    const [topic] = await this.admin.fetchOffsets({ groupId: this.config.groupId, topics: [this.config.topic] });
    const offset = topic?.partitions.find((p) => p.partition === partition)?.offset;
    return offset === undefined || Number(offset) < 0 ? null : Number(offset);
  }

  private async watermark(partition: number, which: 'low' | 'high'): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(this.config.topic);
    return Number(offsets.find((p) => p.partition === partition)?.[which] ?? 0);
  }

  private seek(partition: number, offset: number): void {
    this.consumer.seek({ topic: this.config.topic, partition, offset: String(offset) });
    this.nextOffset.set(partition, offset);
    this.dropQueued(partition);
  }

  private recover(partition: number): void {
    if (!this.assigned.has(partition)) return;
    this.nextOffset.delete(partition);
    this.dropQueued(partition);
    this.listener?.revoked([partition]);
    this.startRecovery(partition);
  }

  /** Asks the listener to recover a partition; its records wait for it (see onBatch). */
  private startRecovery(partition: number): void {
    const recovery = this.listener?.assigned(partition);
    if (recovery === undefined) return;
    // Awaited by the partition's batches; a failure is reported there and here, never as an unhandled rejection.
    recovery.catch((error: unknown) => this.fail(error));
    this.recovering.set(partition, recovery);
  }

  private dropQueued(partition: number): void {
    this.queue.dropWhere((queued) => queued === partition);
  }

  private run(): Promise<void> {
    return this.consumer
      .run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) })
      .catch((error: unknown) => this.fail(new SourceError(`cannot consume topic ${this.config.topic}`, { cause: error, retriable: true })));
  }

  /**
   * kafkajs restarts its consumer after a retriable failure, but gives up on
   * some that a broker coming back fixes ("Failed to find group coordinator"
   * once its retries are spent). Those are retried here, patiently: a lost
   * broker means waiting, not exiting. Membership is lost either way, so every
   * partition is given up now and recovered when the group hands it back.
   */
  private onCrash(error: Error, restarting: boolean): void {
    if (this.stopped) return;
    if (isFatal(error)) {
      this.fail(new SourceError(`the Kafka consumer of ${this.config.topic} stopped`, { cause: error }));
      return;
    }
    kafkaOutage.failing(error, 'the consumer lost the group');
    this.onAssignment(undefined, {});
    if (restarting) return;
    setTimeout(() => {
      if (this.stopped) return;
      this.consumer
        .connect()
        .then(() => this.run())
        .catch((again: unknown) => this.onCrash(again instanceof Error ? again : new Error(String(again)), false));
    }, RESTART_AFTER_MS).unref();
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.nextWaiter?.reject(this.failure);
    this.nextWaiter = undefined;
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (this.stopped) return;
    const fetchedAt = performance.now();
    const { partition } = batch;
    const recovering = this.recovering.get(partition);
    if (recovering !== undefined) {
      try {
        await whileHeartbeating(recovering, heartbeat);
      } catch (error) {
        // Unusable state is not retried batch after batch: the engine stops and says why.
        this.fail(error);
        return;
      }
      // Recovered: the hold is over for this assignment.
      if (this.recovering.get(partition) === recovering) this.recovering.delete(partition);
    }
    // After a seek, this fetch is stale: the next one starts where the seek said.
    if (!this.assigned.has(partition) || isStale() || !isRunning()) return;
    const from = this.nextOffset.get(partition) ?? 0;
    // After a seek back or a rebalance the fetch may start before `from`: those records were handed on already.
    let first = 0;
    while (first < batch.messages.length && Number(batch.messages[first]?.offset) < from) first++;
    if (first === batch.messages.length) {
      if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
      return;
    }
    const messages = batch.messages;
    for (let start = first; start < messages.length; start += this.batchSize) {
      if (!(await waitForRoom(() => this.queue.length >= MAX_QUEUED_BATCHES && !this.stopped, this.roomWaiters, { isRunning, isStale, heartbeat }))) return;
      if (this.stopped || !isRunning() || isStale() || !this.assigned.has(partition)) return;
      const count = Math.min(this.batchSize, messages.length - start);
      const { packed, offsets, timestamps } = packFetched(messages, start, count);
      const last = offsets[count - 1] as number;
      this.push(fetchedBatch({ topic: batch.topic, partition, packed, timestamps, offsets, fetchedAt }));
      // Resolved means "fetch past it", not committed: commits come only from commit().
      resolveOffset(String(last));
      this.nextOffset.set(partition, last + 1);
    }
    this.lagTracker.sawHighWatermark(partition, Number(batch.highWatermark));
  }

  private push(batch: FetchedBatch): void {
    if (this.nextWaiter !== undefined) {
      const wake = this.nextWaiter;
      this.nextWaiter = undefined;
      wake.resolve(batch);
    } else {
      this.queue.push(batch);
    }
  }

  // Queued records of partitions taken away are dropped: their new owner replays them from the last commit.
  private onAssignment(memberId: string | undefined, assignment: Record<string, number[]>): void {
    if (this.stopped) return;
    if (memberId !== undefined) kafkaOutage.answering();
    // A new member id: the group forgot this member, and a partition it had may have been someone else's since.
    if (memberId !== undefined && this.memberId !== undefined && memberId !== this.memberId) this.onAssignment(undefined, {});
    if (memberId !== undefined) this.memberId = memberId;
    const previous = this.assigned;
    this.assigned = new Set(assignment[this.config.topic] ?? []);
    const revoked = [...previous].filter((p) => !this.assigned.has(p));
    const added = [...this.assigned].filter((p) => !previous.has(p));
    log.info({ assigned: [...this.assigned], added, revoked }, 'partitions assigned');
    // Where the new partitions start (their commits) is known at the next poll: ask now, not in a second.
    if (added.length > 0) void this.lagTracker.poll();
    for (const partition of revoked) {
      this.recovering.delete(partition);
      this.nextOffset.delete(partition);
    }
    this.queue.dropWhere((partition) => !this.assigned.has(partition));
    if (revoked.length > 0) this.listener?.revoked(revoked);
    // Kept partitions go on from where they were; a partition that comes back is recovered again.
    for (const partition of added) this.startRecovery(partition);
  }
}

/** Waits for `work`, heartbeating every second so the group keeps this member while a big partition loads. */
async function whileHeartbeating(work: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  done.catch(() => {});
  while (!settled) {
    await Promise.race([done.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000))]);
    if (!settled) await heartbeat().catch(() => {});
  }
  await work;
}

/** Failures no waiting fixes: the consumer stops and the engine says why. */
function isFatal(error: unknown): boolean {
  const type = (error as { type?: string }).type ?? '';
  return /AUTHORIZATION_FAILED|AUTHENTICATION|INVALID_GROUP_ID|UNSUPPORTED/.test(type);
}

function isRebalance(error: unknown): boolean {
  const type = (error as { type?: string }).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR';
}
