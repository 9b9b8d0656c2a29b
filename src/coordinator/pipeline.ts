import type { KlaxonConfig } from '../config/types.js';
import { describeError, StateError } from '../errors.js';
import type { OutRecord, Sink, Source, SourceBatch } from '../io/types.js';
import type { ProcessResult, ShardResult, ShardSetup, ShardTask, StatsResult } from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';
import type { StateStore } from '../state/types.js';
import { deadLetter } from './dead-letter.js';
import { Router, type ShardPart } from './router.js';
import { ShardPool } from './shard-pool.js';
import { SnapshotKeeper } from './snapshots.js';
import { RunStats, type RunSummary } from './stats.js';

export interface PipelineParts {
  source: Source;
  alerts: Sink;
  deadLetters: Sink;
  /** How often sinks are flushed and finished batches committed to the source. */
  commitIntervalMs: number;
  /** Where zone state is snapshotted; none: state lives and dies with the process. */
  store?: StateStore;
  /** How often a snapshot checkpoint (barrier, drain, flush, commit, snapshot) runs when there is a store. */
  snapshotIntervalMs?: number;
  /**
   * Kafka transactions: every commit (each commitIntervalMs) is a barrier
   * checkpoint, because a commit between could cover alerts of a half-collected batch.
   */
  exactlyOnce?: boolean;
  /** Whether record keys are zone ids (Kafka producers keyed by zone). */
  keyIsZoneId?: boolean;
  /** Sees every batch of alerts handed to the sink (dashboards, metrics). Must not throw or block. */
  onAlerts?: (records: readonly OutRecord[]) => void;
}

interface Tracked {
  batch: SourceBatch;
  done: Promise<void>;
  settled: boolean;
}

/**
 * The coordinator's loop: pull batches from the source, route each record to
 * the shard that owns its zone, hand per-shard batches to the workers, pass
 * their alerts and dead letters to the sinks, and commit a batch to the source
 * only when it and every batch before it are finished and the sinks have
 * flushed. Memory is bounded: at most `maxQueuePerWorker` tasks wait per worker
 * and a bounded number of batches are in flight.
 */
export class Pipeline {
  readonly stats: RunStats;
  private readonly pools: ShardPool[];
  private readonly router: Router;
  private readonly inFlight: Tracked[] = [];
  private readonly maxBatchesInFlight: number;
  private stopping = false;
  private failure: unknown;
  private commitChain: Promise<void> = Promise.resolve();
  /** Held while a checkpoint runs: no batch is submitted until it is released. */
  private barrier: Promise<void> | undefined;
  /** Resume offset per partition after the last committed batch. */
  private readonly resumeAt = new Map<number, string>();
  readonly snapshots: SnapshotKeeper | undefined;

  constructor(
    config: Pick<KlaxonConfig, 'engine' | 'window' | 'rules'>,
    private readonly parts: PipelineParts,
  ) {
    const { workers, virtualNodes, maxQueuePerWorker } = config.engine;
    const rules = { window: config.window, rules: config.rules };
    this.pools = Array.from({ length: workers }, (_, shard) => {
      const setup: ShardSetup = { shard, shards: workers, virtualNodes, rules };
      return new ShardPool(shard, setup, maxQueuePerWorker);
    });
    const ring = new HashRing(workers, virtualNodes);
    this.router = new Router(ring, parts.keyIsZoneId ?? true);
    this.stats = new RunStats(workers);
    this.maxBatchesInFlight = workers * maxQueuePerWorker + 2;
    if (parts.store !== undefined) {
      const keeper = new SnapshotKeeper(parts.store, this.pools, ring);
      this.snapshots = keeper;
      parts.source.setPartitionHandler?.({
        assigned: (partition) => keeper.recover(partition),
        revoked: async (partitions) => {
          for (const partition of partitions) this.resumeAt.delete(partition);
          await keeper.release(partitions);
        },
      });
    }
  }

  /** Runs until the source is drained or stop() is called; resolves with the totals. */
  async run(): Promise<RunSummary> {
    // Commits and snapshots run on their own clocks: alerts become visible (exactly-once) at each commit, not each snapshot.
    const commit = this.parts.exactlyOnce ? () => this.scheduleCheckpoint(false) : () => this.scheduleCommit();
    const timers = [setInterval(commit, this.parts.commitIntervalMs)];
    if (this.snapshots !== undefined) {
      timers.push(setInterval(() => this.scheduleCheckpoint(true), this.parts.snapshotIntervalMs ?? 5_000));
    }
    try {
      while (!this.stopping && this.failure === undefined) {
        await this.barrier;
        await Promise.all([this.parts.alerts.ready(), this.parts.deadLetters.ready()]);
        const batch = await this.parts.source.next();
        if (batch === null) break;
        const readAt = performance.now();
        await this.barrier;
        this.stats.records += batch.values.length;
        this.stats.batches++;
        await this.track(batch, readAt);
        while (this.inFlight.filter((t) => !t.settled).length >= this.maxBatchesInFlight) {
          await this.oldestUnsettled();
        }
      }
      await Promise.allSettled(this.inFlight.map((t) => t.done));
      this.throwIfFailed();
      // The last checkpoint: everything processed is committed and, with a store, snapshotted.
      if (this.snapshots !== undefined || this.parts.exactlyOnce) this.scheduleCheckpoint(true);
      else this.scheduleCommit();
      await this.commitChain;
      this.throwIfFailed();
      return this.stats.snapshot();
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  }

  /** Graceful stop: no more fetching; what is in flight finishes, flushes and commits. */
  stop(): void {
    this.stopping = true;
    this.parts.source.stop();
  }

  /** Records waiting behind the source's position, if it can tell (Kafka consumer lag). */
  lag(): number | undefined {
    return this.parts.source.lag();
  }

  /** Runs a read-only task on one worker, queued behind its batches (dashboard, metrics). */
  query<R extends ShardResult>(shard: number, task: ShardTask): Promise<R> {
    return (this.pools[shard] as ShardPool).run<R>(task);
  }

  /** Milliseconds each worker has spent running tasks. */
  busyMs(): number[] {
    return this.pools.map((pool) => pool.busyMs);
  }

  lagByPartition(): ReadonlyMap<number, number> | undefined {
    return this.parts.source.lagByPartition?.();
  }

  /** Ready to serve: the source has its partitions and their state (sources without partitions always are). */
  ready(): boolean {
    return this.parts.source.ready?.() ?? true;
  }

  /** Tasks queued at each worker right now. */
  queueDepths(): number[] {
    return this.pools.map((pool) => pool.queued);
  }

  async shardStats(): Promise<StatsResult[]> {
    return Promise.all(this.pools.map((pool) => pool.run<StatsResult>({ kind: 'stats' })));
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.close()));
  }

  /**
   * Submits a batch's parts and tracks its completion. Resolves once the parts
   * are queued at their workers (so the next batch queues behind them); the
   * tracked promise covers submission and results, so a checkpoint that waits
   * for it never sees a batch half-applied.
   */
  private async track(batch: SourceBatch, readAt: number): Promise<void> {
    const submitted = this.submit(batch, this.router.split(batch));
    const tracked: Tracked = { batch, done: Promise.resolve(), settled: false };
    tracked.done = submitted
      .then((submission) => submission.collected)
      .then(
        () => {
          tracked.settled = true;
          this.stats.batchFinished(batch.values.length, readAt);
        },
        (error: unknown) => {
          tracked.settled = true;
          this.fail(error);
        },
      );
    this.inFlight.push(tracked);
    await submitted.catch(() => {});
  }

  private async oldestUnsettled(): Promise<void> {
    await this.inFlight.find((t) => !t.settled)?.done;
  }

  /**
   * Queues every part at its worker, waiting for room in each queue. Callers
   * await this before submitting the next batch: that is what keeps each
   * shard's tasks, and so each zone's readings, in source order. Resolves to
   * the promise of the results being collected (wrapped, so awaiting the
   * submission does not also wait for the results).
   */
  private async submit(batch: SourceBatch, parts: ShardPart[]): Promise<{ collected: Promise<void> }> {
    const results: Promise<void>[] = [];
    for (const part of parts) {
      const pool = this.pools[part.shard] as ShardPool;
      await pool.room();
      // Checked right before queuing, with no await in between: a partition revoked meanwhile had its zones
      // dropped, and processing its records here would rebuild them from nothing.
      if (this.parts.source.owns?.(batch.partition) === false) {
        this.stats.discarded += part.indices.length;
        continue;
      }
      const transfer = [part.task.bytes.buffer as ArrayBuffer];
      results.push(pool.run<ProcessResult>(part.task, transfer).then((result) => this.collect(batch, part, result)));
    }
    return { collected: Promise.all(results).then(() => {}) };
  }

  private async collect(batch: SourceBatch, part: ShardPart, result: ProcessResult): Promise<void> {
    const { stats } = this;
    stats.accepted += result.accepted;
    stats.rejected += result.rejected.length;
    stats.countRejections(result.reasons);
    stats.firing += result.firing;
    stats.resolved += result.resolved;
    stats.setZones(part.shard, result.zones);
    // Replayed records rebuild state only: their output was written before the restart.
    const replayed = batch.replayed ?? 0;
    const fresh = (k: number) => (part.indices[k] as number) >= replayed;
    const alerts: OutRecord[] = [];
    result.alerts.forEach((value, k) => {
      if (fresh(result.alertRecords[k] as number)) alerts.push({ key: result.alertZones[k] as string, value });
    });
    if (alerts.length > 0) {
      this.parts.alerts.write(alerts);
      this.parts.onAlerts?.(alerts);
    }
    const dead: OutRecord[] = [];
    result.rejected.forEach((k, r) => {
      const index = part.indices[k] as number;
      if (index >= replayed) dead.push(deadLetter(result.reasons[r] as string, batch.values[index] as Buffer, batch.position(index)));
    });
    if (dead.length > 0) this.parts.deadLetters.write(dead);
    if (replayed > 0) stats.replayed += part.indices.filter((index) => index < replayed).length;
    if (result.misrouted.length > 0) {
      // Records keyed by something other than their zone: send them to the zone's owner.
      stats.rerouted += result.misrouted.length;
      const indices = result.misrouted.map((k) => part.indices[k] as number);
      await (await this.submit(batch, this.router.splitByZone(batch, indices, result.misroutedZones))).collected;
    }
  }

  private scheduleCommit(): void {
    this.commitChain = this.commitChain.then(() => this.commitFinished()).catch((error: unknown) => this.fail(error));
  }

  private scheduleCheckpoint(snapshot: boolean): void {
    this.commitChain = this.commitChain.then(() => this.checkpoint(snapshot)).catch((error: unknown) => this.fail(error));
  }

  /**
   * Barrier → drain → flush and commit → snapshot. With nothing in flight the
   * workers' zones are exactly the effect of the committed records, so each
   * partition's snapshot matches its resume offset; it is written after the
   * commit, so a snapshot is never ahead of the committed offsets.
   */
  private async checkpoint(snapshot: boolean): Promise<void> {
    let release = () => {};
    this.barrier = new Promise((resolve) => {
      release = resolve;
    });
    try {
      await Promise.allSettled(this.inFlight.map((t) => t.done));
      await this.commitFinished();
      if (this.failure !== undefined || this.snapshots === undefined || !snapshot) return;
      try {
        await this.snapshots.save(this.resumeAt);
      } catch (error) {
        // Not fatal: offsets are committed and the zones stay pending for the next checkpoint.
        if (!(error instanceof StateError && error.retriable)) throw error;
        process.stderr.write(`klaxon: snapshot failed, will retry: ${describeError(error)}\n`);
      }
    } finally {
      this.barrier = undefined;
      release();
    }
  }

  /** Flushes the sinks, then commits the finished prefix of batches in order. */
  private async commitFinished(): Promise<void> {
    let ready = 0;
    while (ready < this.inFlight.length && (this.inFlight[ready] as Tracked).settled) ready++;
    await Promise.all([this.parts.alerts.flush(), this.parts.deadLetters.flush()]);
    if (ready === 0 || this.failure !== undefined) return;
    const finished = this.inFlight.splice(0, ready);
    await this.parts.source.commit(finished.map((tracked) => tracked.batch));
    for (const { batch } of finished) if (batch.resumeAt !== undefined) this.resumeAt.set(batch.partition, batch.resumeAt);
    this.stats.committedBatches += finished.length;
  }

  private fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error;
    this.stopping = true;
    this.parts.source.stop();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
