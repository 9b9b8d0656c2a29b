import { KlaxonError, StateError } from '../errors.js';
import { recordCount } from '../io/packed-records.js';
import type { Source } from '../io/types.js';
import { logger } from '../log.js';
import type { Checkpoints } from './checkpoints.js';
import type { Dispatcher } from './dispatcher.js';
import type { Ledger } from './ledger.js';
import { Stall } from './stall.js';
import type { RunStats, RunSummary } from './stats.js';

const log = logger('pipeline');

/**
 * A paced snapshot's export rests between slices for at most half its
 * interval and at most this long: a long interval must not hold a cut's
 * copy-on-write (and tiering's evictions) for minutes.
 */
const MAX_PACED_MS = 2_500;

/** Beyond three of its intervals, how long a commit or a snapshot may run before the engine says it is stuck. */
const STUCK_MS = 5_000;

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
  /** Tiering: whether the zones in memory call for a snapshot now, or for the intake to wait for one (ZoneTier.pressure). */
  zonePressure?: (() => 'snapshot' | 'wait' | undefined) | undefined;
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
  /** The running snapshot was asked for now (a stop, the last one, tiering's pressure): not paced. */
  private hurried = false;
  /** When the snapshot now running was started (performance.now()). */
  private snapshotStartedAt: number | undefined;
  private readonly commits = new Stall(log, 'commits are not going through', 'retrying; not ready until they do', 'commits go through again');
  private readonly snapshots = new Stall(
    log,
    'snapshots are not being saved',
    'alerting and commits go on; snapshots are retried, and a crash meanwhile replays from the last one saved',
    'snapshots are saved again',
  );

  constructor(private readonly parts: PipelineParts) {
    this.stopped = new Promise((resolve) => {
      this.settleStopped = resolve;
    });
  }

  /** Runs until the source is drained or stop() is called; resolves with the totals. */
  async run(): Promise<RunSummary> {
    const { source, dispatcher, ledger, checkpoints, stats } = this.parts;
    const timers = [
      setInterval(() => {
        this.watch();
        void this.commit();
      }, this.parts.commitIntervalMs),
    ];
    if (this.parts.snapshotIntervalMs !== undefined) timers.push(setInterval(() => void this.snapshot('paced'), this.parts.snapshotIntervalMs));
    try {
      while (!this.stopping && this.failure === undefined) {
        // A delivery configured to block may wait for a receiver that never comes back: a stop must not wait with it.
        await Promise.race([ledger.ready(), this.stopped]);
        if (this.stopping) break;
        const batch = await source.next();
        if (batch === null) break;
        const readAt = batch.fetchedAt ?? performance.now();
        stats.records += recordCount(batch);
        stats.batches++;
        // Admitted at once, in source order (replay bookkeeping); ownership is checked again before each part.
        const admission = checkpoints.admit(batch);
        if (admission === undefined) {
          stats.discarded += recordCount(batch);
          continue;
        }
        const { epoch, replayed } = admission;
        await this.exclusive(async () => {
          // Revoked or lost while this batch waited for the gate: the ledger has forgotten the partition, and a lane
          // opened now would outlive it, its position committed under the partition's next transaction without outputs.
          if (!checkpoints.owns(batch.partition, epoch)) {
            stats.discarded += recordCount(batch);
            return;
          }
          const entry = ledger.open(batch, readAt);
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
        await this.relieveZonePressure();
      }
      await Promise.all(ledger.unfinished().map((entry) => entry.done));
      this.throwIfFailed();
      // The last commit and, with a store, the last snapshot: everything processed is committed and saved.
      await this.commit();
      if (this.parts.snapshotIntervalMs !== undefined) {
        this.hurry();
        await this.snapshotRunning;
        await this.snapshot('now');
      }
      this.throwIfFailed();
      return stats.snapshot();
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  }

  /**
   * Tiering: too many zones in memory (new ones cannot be evicted before a
   * snapshot saves them) starts a snapshot at once, and past the hard mark
   * the next batch waits for it and its eviction round: once per batch and
   * for a bounded time, so zones that cannot be evicted (FIRING ones) or a
   * Redis away slow intake, never stop it.
   */
  private async relieveZonePressure(): Promise<void> {
    const pressure = this.parts.zonePressure?.();
    const interval = this.parts.snapshotIntervalMs;
    if (pressure === undefined || interval === undefined) return;
    const snapshot = this.snapshot('now');
    if (pressure !== 'wait') return;
    // Bounded: a snapshot that hangs (Redis away) must not stop alerting, only slow it.
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2 * interval + STUCK_MS);
    });
    await Promise.race([snapshot, patience]).finally(() => clearTimeout(timer));
  }

  /**
   * Runs `queue` between two batch submissions, as a cut is taken: whatever
   * it queues at the workers lands behind every batch queued before and
   * ahead of every batch queued after. `queue` must queue and return, not
   * wait for the workers (return their promise inside an object).
   */
  between<T>(queue: () => T): Promise<T> {
    return this.exclusive(async () => queue());
  }

  /** Graceful stop: no more reading; what is in flight finishes, is written and committed. */
  stop(): void {
    this.stopping = true;
    this.hurry();
    this.settleStopped();
    this.parts.source.stop();
  }

  /** Whether finished batches are being committed: not while commits fail or hang (a broker away). */
  get committing(): boolean {
    this.watch();
    return !this.commits.stalled;
  }

  /**
   * A commit that fails with a retriable error (the broker away) is not the
   * end of the run: the batches stay uncommitted and the next tick tries
   * again; once stopping, a failure is final.
   */
  private async commit(): Promise<void> {
    try {
      await this.parts.ledger.commit();
      this.commits.ok();
    } catch (error) {
      if (this.stopping || !isRetriable(error)) {
        this.fail(error);
        return;
      }
      this.commits.stuck(error);
    }
  }

  /** A commit or a snapshot that neither succeeds nor fails for this long counts as stuck (a paused broker, an absent Redis, answer nothing). */
  private watch(): void {
    const commitFor = this.parts.ledger.commitRunningForMs();
    if (commitFor > 3 * this.parts.commitIntervalMs + STUCK_MS) this.commits.stuck(new Error(`a commit has run for ${Math.round(commitFor / 1000)} s`));
    const interval = this.parts.snapshotIntervalMs;
    const snapshotFor = this.snapshotStartedAt === undefined ? 0 : performance.now() - this.snapshotStartedAt;
    if (interval !== undefined && snapshotFor > 3 * interval + STUCK_MS)
      this.snapshots.stuck(new Error(`a snapshot has run for ${Math.round(snapshotFor / 1000)} s`));
  }

  /**
   * A snapshot without stopping the stream: the cut is queued at every worker
   * between two batches; once every batch before it is back and committed,
   * it is saved. At most one runs: while Redis is down they do not pile up.
   * `paced`: the workers export it at a fifth of their time (Checkpoints'
   * EXPORT_PAUSE_MS) for up to half the interval (at most MAX_PACED_MS),
   * then at full speed; `now`: at full speed (tiering's pressure, the last
   * one), also one already running.
   */
  private snapshot(pace: 'paced' | 'now'): Promise<void> {
    if (pace === 'now') this.hurry();
    this.snapshotRunning ??= this.saveSnapshot()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.snapshotRunning = undefined;
        this.hurried = false;
      });
    return this.snapshotRunning;
  }

  /** The snapshot running (or the next) is wanted now: its export goes back to back, from its cut or from here. */
  private hurry(): void {
    this.hurried = true;
    this.parts.checkpoints.hurry();
  }

  private async saveSnapshot(): Promise<void> {
    const { ledger, checkpoints, snapshotIntervalMs = 0 } = this.parts;
    this.snapshotStartedAt = performance.now();
    try {
      // Paced or not is decided at the cut, under the gate: a hurry() that came while the cut waited for it counts.
      const pace = () => ({ pacedForMs: this.hurried || this.stopping ? 0 : Math.min(snapshotIntervalMs / 2, MAX_PACED_MS) });
      const { cut, before } = await this.exclusive(async () => ({ cut: checkpoints.cut(pace()), before: ledger.unfinished() }));
      await Promise.all(before.map((entry) => entry.done));
      await this.commit();
      if (this.failure !== undefined) return;
      await checkpoints.save(cut, (partition) => ledger.committedUntil(partition));
      this.snapshots.ok();
    } catch (error) {
      // Not fatal: offsets are committed, and the partitions are written whole at the next snapshot.
      if (!(error instanceof StateError && error.retriable)) throw error;
      this.snapshots.stuck(error);
    } finally {
      this.snapshotStartedAt = undefined;
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

/** Klaxon's own errors say whether waiting can fix them; a client's errors (kafkajs) do too. */
function isRetriable(error: unknown): boolean {
  if (error instanceof KlaxonError) return error.retriable;
  return (error as { retriable?: unknown }).retriable === true;
}
