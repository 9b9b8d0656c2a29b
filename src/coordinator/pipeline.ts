import { StateError } from '../errors.js';
import type { Source } from '../io/types.js';
import { logger } from '../log.js';
import type { Checkpoints } from './checkpoints.js';
import type { Dispatcher } from './dispatcher.js';
import type { Ledger } from './ledger.js';
import type { RunStats, RunSummary } from './stats.js';

const log = logger('pipeline');

export interface PipelineParts {
  source: Source;
  dispatcher: Dispatcher;
  ledger: Ledger;
  checkpoints: Checkpoints;
  stats: RunStats;
  /** How often finished batches are committed (sinks flushed, or the transaction committed). */
  commitIntervalMs: number;
  /** How often a snapshot is cut, when there is a state store (undefined: never). */
  snapshotIntervalMs: number | undefined;
  /** Batches queued at the workers and not yet back, at most (memory bound). */
  maxInFlight: number;
}

/**
 * The coordinator's loop: read a batch, admit it (ownership, replay), queue
 * it at the workers through the dispatcher, and let the ledger write and
 * commit its outputs in order. Commits and snapshots run on their own clocks;
 * a snapshot's cut is taken between two batch submissions (the gate).
 */
export class Pipeline {
  private stopping = false;
  /** Settles on stop() or fail(): a read loop waiting for room in the outputs stops waiting (it will read no more). */
  private readonly stopped: Promise<void>;
  private settleStopped = () => {};
  private failure: unknown;
  /** Held while a batch is queued at the workers, and while a cut is taken: a cut sees all or none of a batch. */
  private gate: Promise<void> = Promise.resolve();
  private snapshotRunning: Promise<void> | undefined;
  private redisDown = false;

  constructor(private readonly parts: PipelineParts) {
    this.stopped = new Promise((resolve) => {
      this.settleStopped = resolve;
    });
  }

  /** Runs until the source is drained or stop() is called; resolves with the totals. */
  async run(): Promise<RunSummary> {
    const { source, dispatcher, ledger, checkpoints, stats } = this.parts;
    const timers = [setInterval(() => void this.commit(), this.parts.commitIntervalMs)];
    if (this.parts.snapshotIntervalMs !== undefined) timers.push(setInterval(() => void this.snapshot(), this.parts.snapshotIntervalMs));
    try {
      while (!this.stopping && this.failure === undefined) {
        // A delivery configured to block may wait for a receiver that never comes back: a stop must not wait with it.
        await Promise.race([ledger.ready(), this.stopped]);
        if (this.stopping) break;
        const batch = await source.next();
        if (batch === null) break;
        const readAt = performance.now();
        stats.records += batch.values.length;
        stats.batches++;
        // Admitted at once, in source order (replay bookkeeping); ownership is checked again before each part.
        const admission = checkpoints.admit(batch);
        if (admission === undefined) {
          stats.discarded += batch.values.length;
          continue;
        }
        await this.exclusive(async () => {
          const entry = ledger.open(batch, readAt);
          const { epoch, replayed } = admission;
          const dispatch = dispatcher.dispatch(batch, replayed, () => checkpoints.owns(batch.partition, epoch));
          dispatch.outputs.then(
            (outputs) => ledger.finish(entry, outputs),
            (error: unknown) => {
              ledger.abandon(entry);
              this.fail(error);
            },
          );
          await dispatch.queued;
          checkpoints.submitted(batch, epoch);
        });
        while (ledger.inFlight >= this.parts.maxInFlight && this.failure === undefined) await ledger.oldestBack();
      }
      await Promise.all(ledger.unfinished().map((entry) => entry.done));
      this.throwIfFailed();
      // The last commit and, with a store, the last snapshot: everything processed is committed and saved.
      await this.commit();
      if (this.parts.snapshotIntervalMs !== undefined) {
        await this.snapshotRunning;
        await this.snapshot();
      }
      this.throwIfFailed();
      return stats.snapshot();
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  }

  /** Graceful stop: no more reading; what is in flight finishes, is written and committed. */
  stop(): void {
    this.stopping = true;
    this.settleStopped();
    this.parts.source.stop();
  }

  private commit(): Promise<void> {
    return this.parts.ledger.commit().catch((error: unknown) => this.fail(error));
  }

  /**
   * A snapshot without stopping the stream: the cut is queued at every worker
   * between two batches; once every batch before it is back and committed,
   * it is saved. At most one runs: while Redis is down they do not pile up.
   */
  private snapshot(): Promise<void> {
    this.snapshotRunning ??= this.saveSnapshot()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.snapshotRunning = undefined;
      });
    return this.snapshotRunning;
  }

  private async saveSnapshot(): Promise<void> {
    const { ledger, checkpoints } = this.parts;
    const { cut, before } = await this.exclusive(async () => ({ cut: checkpoints.cut(), before: ledger.unfinished() }));
    await Promise.all(before.map((entry) => entry.done));
    await this.commit();
    if (this.failure !== undefined) return;
    try {
      await checkpoints.save(cut, (partition) => ledger.committedUntil(partition));
      if (this.redisDown) log.info('snapshots are saved again');
      this.redisDown = false;
    } catch (error) {
      // Not fatal: offsets are committed, and the partitions are written whole at the next snapshot.
      if (!(error instanceof StateError && error.retriable)) throw error;
      if (!this.redisDown) log.warn({ err: error }, 'cannot save snapshots: alerting goes on, snapshots are retried');
      this.redisDown = true;
    }
  }

  /** Runs `task` while holding the gate (queued behind whoever holds it). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.gate.then(task);
    this.gate = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Stops the run with this error (the first one wins). */
  fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error;
    this.stopping = true;
    this.settleStopped();
    this.parts.source.stop();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
