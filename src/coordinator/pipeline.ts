import type { KlaxonConfig } from '../config/types.js';
import { describeError, StateError } from '../errors.js';
import type { OutRecord, Sink, Source, SourceBatch } from '../io/types.js';
import type { ProcessResult, ShardResult, ShardSetup, ShardTask, StatsResult } from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';
import type { StateStore } from '../state/types.js';
import { deadLetter } from './dead-letter.js';
import { Router, type ShardPart } from './router.js';
import { ShardPool } from './shard-pool.js';
import { type Cut, SnapshotKeeper } from './snapshots.js';
import { RunStats, type RunSummary } from './stats.js';

export interface PipelineParts {
  source: Source;
  alerts: Sink;
  deadLetters: Sink;
  /** How often sinks are flushed and finished batches committed to the source. */
  commitIntervalMs: number;
  /** Where zone state is snapshotted; none: state lives and dies with the process. */
  store?: StateStore;
  /** How often a snapshot is cut when there is a store (batches keep flowing while it is written). */
  snapshotIntervalMs?: number;
  /**
   * Kafka transactions: outputs are handed to the sinks batch by batch in
   * source order, once a batch is finished, and not while a transaction
   * commits, so each transaction holds exactly the outputs of the batches
   * whose offsets it commits, without stopping the stream.
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
  /** Some records came back from a worker and were submitted again, later than the rest of the batch. */
  rerouted: boolean;
  /** Exactly-once: the batch's outputs, held until every batch before it has handed its own to the sinks. */
  held: Outputs | undefined;
}

interface Outputs {
  alerts: OutRecord[];
  dead: OutRecord[];
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
  private snapshotChain: Promise<void> = Promise.resolve();
  private snapshotScheduled = false;
  /** While any is held, no batch is submitted (a snapshot taking its cut). */
  private readonly pauses = new Set<Promise<void>>();
  /** The batch being queued at the workers, if any: a cut waits for it. */
  private submitting: Promise<void> | undefined;
  /** Resume offset per partition after the last batch queued at the workers. */
  private readonly submittedUntil = new Map<number, string>();
  /** Set when a cut found records processed on both sides of it: the next cut drains first. */
  private drainBeforeCut = false;
  /** Exactly-once: a transaction is committing; outputs wait for the next one. */
  private committing = false;
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
        assigned: async (partition) => {
          const offset = await keeper.recover(partition);
          // The workers hold exactly the snapshot: a cut before any new batch of this partition matches its offset.
          if (offset === null) this.submittedUntil.delete(partition);
          else this.submittedUntil.set(partition, offset);
          return offset;
        },
        revoked: async (partitions) => {
          for (const partition of partitions) this.submittedUntil.delete(partition);
          await keeper.release(partitions);
        },
      });
    }
  }

  /** Runs until the source is drained or stop() is called; resolves with the totals. */
  async run(): Promise<RunSummary> {
    // Commits and snapshots run on their own clocks: alerts become visible (exactly-once) at each commit, not each snapshot.
    const timers = [setInterval(() => void this.commit(), this.parts.commitIntervalMs)];
    if (this.snapshots !== undefined) {
      timers.push(setInterval(() => this.scheduleSnapshot(), this.parts.snapshotIntervalMs ?? 5_000));
    }
    try {
      while (!this.stopping && this.failure === undefined) {
        await this.unpaused();
        await Promise.all([this.parts.alerts.ready(), this.parts.deadLetters.ready()]);
        const batch = await this.parts.source.next();
        if (batch === null) break;
        const readAt = performance.now();
        await this.unpaused();
        // No await between the check above and queuing: a cut sees either none or all of this batch.
        this.stats.records += batch.values.length;
        this.stats.batches++;
        this.submitting = this.track(batch, readAt);
        await this.submitting;
        this.submitting = undefined;
        while (this.inFlight.filter((t) => !t.settled).length >= this.maxBatchesInFlight) {
          await this.oldestUnsettled();
        }
      }
      await Promise.allSettled(this.inFlight.map((t) => t.done));
      this.throwIfFailed();
      // The last commit and, with a store, the last snapshot: everything processed is committed and saved.
      await this.commit();
      if (this.snapshots !== undefined) {
        await this.snapshotChain;
        this.scheduleSnapshot();
        await this.snapshotChain;
      }
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
   * tracked promise covers submission and results, so a snapshot or commit that waits
   * for it never sees a batch half-applied.
   */
  private async track(batch: SourceBatch, readAt: number): Promise<void> {
    const held = this.parts.exactlyOnce ? { alerts: [], dead: [] } : undefined;
    const tracked: Tracked = { batch, done: Promise.resolve(), settled: false, rerouted: false, held };
    const submitted = this.submit(tracked, this.router.split(batch));
    tracked.done = submitted
      .then((submission) => submission.collected)
      .then(
        () => {
          tracked.settled = true;
          this.stats.batchFinished(batch.values.length, readAt);
          if (tracked.held !== undefined) this.releaseHeld();
        },
        (error: unknown) => {
          tracked.settled = true;
          this.fail(error);
        },
      );
    this.inFlight.push(tracked);
    await submitted.catch(() => {});
    if (batch.resumeAt !== undefined) this.submittedUntil.set(batch.partition, batch.resumeAt);
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
  private async submit(tracked: Tracked, parts: ShardPart[]): Promise<{ collected: Promise<void> }> {
    const { batch } = tracked;
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
      results.push(pool.run<ProcessResult>(part.task, transfer).then((result) => this.collect(tracked, part, result)));
    }
    return { collected: Promise.all(results).then(() => {}) };
  }

  private async collect(tracked: Tracked, part: ShardPart, result: ProcessResult): Promise<void> {
    const { stats } = this;
    const { batch } = tracked;
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
    const dead: OutRecord[] = [];
    result.rejected.forEach((k, r) => {
      const index = part.indices[k] as number;
      if (index >= replayed) dead.push(deadLetter(result.reasons[r] as string, batch.values[index] as Buffer, batch.position(index)));
    });
    if (tracked.held === undefined) this.write({ alerts, dead });
    else {
      tracked.held.alerts.push(...alerts);
      tracked.held.dead.push(...dead);
    }
    if (replayed > 0) stats.replayed += part.indices.filter((index) => index < replayed).length;
    if (result.misrouted.length > 0) {
      // Records keyed by something other than their zone: send them to the zone's owner.
      stats.rerouted += result.misrouted.length;
      tracked.rerouted = true;
      const indices = result.misrouted.map((k) => part.indices[k] as number);
      await (await this.submit(tracked, this.router.splitByZone(batch, indices, result.misroutedZones))).collected;
    }
  }

  /**
   * Queues a commit of the finished prefix of batches and resolves when it is
   * done. Neither guarantee stops the stream for it (exactly-once: see
   * releaseHeld).
   */
  private commit(): Promise<void> {
    this.commitChain = this.commitChain.then(() => this.commitFinished()).catch((error: unknown) => this.fail(error));
    return this.commitChain;
  }

  private write({ alerts, dead }: Outputs): void {
    if (alerts.length > 0) {
      this.parts.alerts.write(alerts);
      this.parts.onAlerts?.(alerts);
    }
    if (dead.length > 0) this.parts.deadLetters.write(dead);
  }

  /** Exactly-once: hands the held outputs of the finished prefix of batches to the sinks, in order. */
  private releaseHeld(): void {
    if (this.committing) return;
    for (const tracked of this.inFlight) {
      if (!tracked.settled) return;
      if (tracked.held === undefined) continue;
      this.write(tracked.held);
      tracked.held = undefined;
    }
  }

  /** At most one snapshot waits or runs: while Redis is down they do not pile up (the stream goes on, committed in Kafka). */
  private scheduleSnapshot(): void {
    if (this.snapshotScheduled) return;
    this.snapshotScheduled = true;
    this.snapshotChain = this.snapshotChain
      .then(() => this.snapshot())
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.snapshotScheduled = false;
      });
  }

  /**
   * A snapshot without stopping the stream: pause only between two batches
   * to queue an export at every worker (the cut), then let batches flow.
   * The cut is saved once every batch before it is processed and committed,
   * so a snapshot is never ahead of the committed offsets.
   */
  private async snapshot(): Promise<void> {
    const keeper = this.snapshots as SnapshotKeeper;
    const resume = this.pause();
    let before: Tracked[];
    let cut: Cut;
    try {
      await this.submitting;
      if (this.drainBeforeCut) {
        this.drainBeforeCut = false;
        await Promise.allSettled(this.inFlight.map((t) => t.done));
      }
      before = this.inFlight.filter((t) => !t.settled);
      cut = keeper.cut(this.submittedUntil);
    } finally {
      resume();
    }
    await Promise.allSettled(before.map((t) => t.done));
    await this.commit();
    if (this.failure !== undefined) return;
    // Records sent back by a worker were queued again after the first results came: maybe after the cut.
    const unsure = new Set(before.filter((t) => t.rerouted).map((t) => t.batch.partition));
    if (unsure.size > 0) this.drainBeforeCut = true;
    try {
      await keeper.save(cut, unsure);
    } catch (error) {
      // Not fatal: offsets are committed, and the partitions are written whole at the next snapshot.
      if (!(error instanceof StateError && error.retriable)) throw error;
      process.stderr.write(`klaxon: snapshot failed, will retry: ${describeError(error)}\n`);
    }
  }

  /** Holds batch submission until the returned function is called. */
  private pause(): () => void {
    let release = () => {};
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.pauses.add(paused);
    return () => {
      this.pauses.delete(paused);
      release();
    };
  }

  private async unpaused(): Promise<void> {
    while (this.pauses.size > 0) await Promise.all(this.pauses);
  }

  /**
   * Flushes the sinks, then commits the finished prefix of batches in order
   * (exactly-once: the batches whose outputs are in the transaction).
   */
  private async commitFinished(): Promise<void> {
    let ready = 0;
    while (ready < this.inFlight.length && this.isCommittable(this.inFlight[ready] as Tracked)) ready++;
    this.committing = this.parts.exactlyOnce === true;
    try {
      await Promise.all([this.parts.alerts.flush(), this.parts.deadLetters.flush()]);
      if (ready === 0 || this.failure !== undefined) return;
      const finished = this.inFlight.splice(0, ready);
      await this.parts.source.commit(finished.map((tracked) => tracked.batch));
      this.stats.committedBatches += finished.length;
    } finally {
      this.committing = false;
      if (this.parts.exactlyOnce) this.releaseHeld();
    }
  }

  private isCommittable(tracked: Tracked): boolean {
    return tracked.settled && tracked.held === undefined;
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
