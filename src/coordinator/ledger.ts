import { recordCount } from '../io/packed-records.js';
import type { BatchOutputs, SourceBatch } from '../io/types.js';
import type { RunStats } from './stats.js';

/**
 * Where finished batches' outputs go, and how they are made durable with the
 * source positions they come from.
 */
export interface OutputChannel {
  /**
   * Transactions: outputs must never reach the channel while a commit runs,
   * so that a commit holds exactly the outputs of the positions it commits.
   */
  readonly transactional: boolean;
  write(partition: number, outputs: BatchOutputs): void;
  /** Resolves when the channel has room for more (backpressure on the read loop). */
  ready(): Promise<void>;
  /**
   * Makes everything written so far durable, then commits `positions`
   * (partition → next offset to read).
   */
  commit(positions: ReadonlyMap<number, number>): Promise<CommitOutcome>;
}

export interface CommitOutcome {
  /** Partitions whose commit failed with an unknown outcome (a transaction fenced or timed out): no longer this process's until recovered. */
  lost: readonly number[];
  /** Partitions whose positions were left uncommitted, their outputs durable (a rebalance under way): asked for again. */
  skipped: readonly number[];
}

/** One batch from the moment it is queued at the workers until it is committed. */
export interface LedgerEntry {
  /** Settles when the batch's outputs are back from the workers (or the batch failed). */
  readonly done: Promise<void>;
}

/**
 * What a commit needs of a batch, not the batch: an entry waits up to a
 * commit interval, and holding the batch kept every record's value and key
 * alive that long (in a heap snapshot during a 1M backlog, ~480k of the
 * coordinator's 524k Buffers, and its heap 133 MB against 79 MB without).
 */
interface Entry extends LedgerEntry {
  readonly partition: number;
  readonly records: number;
  /** The offset of the batch's last record (undefined: a source without offsets). */
  readonly lastOffset: number | undefined;
  readAt: number;
  /** abandoned: failed or revoked while running; it settles but never commits. */
  stage: 'running' | 'finished' | 'written' | 'abandoned';
  outputs: BatchOutputs | undefined;
  settle: () => void;
}

/** A partition's batches in source order, from the oldest not yet committed. */
interface Lane {
  entries: Entry[];
}

/**
 * The ordered commit: owns every batch between the workers and the source
 * commit. Batches finish in any order across shards, but each batch's outputs
 * are written only once every earlier batch of its partition has written its
 * own: a zone's alerts keep reading order (contract §4) even when a later
 * batch, all on a fast worker, finishes before an earlier one waiting for a
 * slow worker. A partition's position is committed only up to the oldest
 * batch not yet written, so a commit never runs ahead of an unwritten output.
 * With a transactional channel (exactly-once) outputs are also held while a
 * commit runs.
 */
export class Ledger {
  private readonly lanes = new Map<number, Lane>();
  private readonly committed = new Map<number, number>();
  /**
   * Positions owed to the group although no batch of theirs waits: a recovery
   * resumed at a snapshot ahead of the group's offset, or a commit the source
   * left out (a rebalance under way). Each commit asks for them until one lands.
   */
  private readonly owed = new Map<number, number>();
  private running = 0;
  private committing = false;
  private chain: Promise<void> = Promise.resolve();
  /** The commit queued behind the running one, not started yet. */
  private waiting: Promise<void> | undefined;
  /** When the commit now running started (performance.now()). */
  private commitStartedAt: number | undefined;

  constructor(
    private readonly channel: OutputChannel,
    private readonly stats: RunStats,
    /** Partitions a commit lost (see OutputChannel.commit): already forgotten here. */
    private readonly onLost: (partitions: readonly number[]) => void = () => {},
  ) {}

  /** Tracks a batch about to be queued at the workers (call in source order). */
  open(batch: SourceBatch, readAt: number): LedgerEntry {
    let settle = () => {};
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const { partition, offsets } = batch;
    const lastOffset = offsets?.[offsets.length - 1];
    const entry: Entry = { partition, records: recordCount(batch), lastOffset, readAt, done, stage: 'running', outputs: undefined, settle };
    let lane = this.lanes.get(partition);
    if (lane === undefined) {
      lane = { entries: [] };
      this.lanes.set(partition, lane);
    }
    lane.entries.push(entry);
    this.running++;
    return entry;
  }

  /** The batch's outputs are back: written as soon as every earlier batch of its partition has written its own. */
  finish(ledgerEntry: LedgerEntry, outputs: BatchOutputs): void {
    const entry = ledgerEntry as Entry;
    if (entry.stage !== 'running') return;
    entry.stage = 'finished';
    entry.outputs = outputs;
    this.running--;
    entry.settle();
    const lane = this.lanes.get(entry.partition);
    if (lane?.entries.includes(entry)) this.writeInOrder(lane);
  }

  /** The batch failed (the run is failing): it settles but never commits. */
  abandon(ledgerEntry: LedgerEntry): void {
    const entry = ledgerEntry as Entry;
    if (entry.stage !== 'running') return;
    entry.stage = 'abandoned';
    this.running--;
    entry.settle();
  }

  /** Batches queued and not yet back from the workers. */
  get inFlight(): number {
    return this.running;
  }

  /** The batches not yet back from the workers, right now. */
  unfinished(): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const lane of this.lanes.values()) for (const entry of lane.entries) if (entry.stage === 'running') out.push(entry);
    return out;
  }

  /** Resolves when the oldest batch still at the workers is back. */
  async oldestBack(): Promise<void> {
    let oldest: Entry | undefined;
    for (const lane of this.lanes.values()) {
      const entry = lane.entries.find((e) => e.stage === 'running');
      if (entry !== undefined && (oldest === undefined || entry.readAt < oldest.readAt)) oldest = entry;
    }
    await oldest?.done;
  }

  ready(): Promise<void> {
    return this.channel.ready();
  }

  /** Partitions revoked: their batches are neither written nor committed here; their new owner decides. */
  forget(partitions: readonly number[]): void {
    for (const partition of partitions) {
      const lane = this.lanes.get(partition);
      this.lanes.delete(partition);
      this.committed.delete(partition);
      this.owed.delete(partition);
      for (const entry of lane?.entries ?? []) if (entry.stage === 'running') this.abandon(entry);
    }
  }

  /**
   * A partition was recovered: its group position is `committed` (null: none).
   * Replayed batches are below it and never move it back. `snapshotAhead`:
   * reading resumed at a snapshot past that position (a zombie's late commit
   * moved the group back, or offsets were rewound); the next commit moves the
   * group there, since a snapshot is saved only once the outputs of its
   * records are committed. (Without it the group stayed behind until new
   * records came: on a quiet partition, for good, and a restart replayed it.)
   */
  resume(partition: number, committed: number | null, snapshotAhead?: number): void {
    if (committed === null) this.committed.delete(partition);
    else this.committed.set(partition, committed);
    if (snapshotAhead === undefined) this.owed.delete(partition);
    else this.owed.set(partition, snapshotAhead);
  }

  /** The partition's committed position: as recovered, or as this process last committed it. */
  committedUntil(partition: number): number | undefined {
    return this.committed.get(partition);
  }

  /**
   * A commit of every partition's written prefix, started after this call;
   * resolves when it is done. One runs at a time, and at most one waits:
   * callers while it waits share it. (Queued one per caller, the commit timer
   * piled up commits behind a slow flush, and a snapshot waiting for "the
   * next commit" waited for all of them: 1.3 s instead of one commit's time
   * on a 100k backlog, long enough that a kill -9 found no recent snapshot.)
   */
  commit(): Promise<void> {
    if (this.waiting !== undefined) return this.waiting;
    const run = this.chain.then(() => {
      this.waiting = undefined;
      return this.commitWritten();
    });
    this.waiting = run;
    this.chain = run.catch(() => {});
    return run;
  }

  /** How long the commit now running has been running (0: none is). */
  commitRunningForMs(): number {
    return this.commitStartedAt === undefined ? 0 : performance.now() - this.commitStartedAt;
  }

  private async commitWritten(): Promise<void> {
    this.committing = this.channel.transactional;
    this.commitStartedAt = performance.now();
    try {
      const positions = new Map<number, number>();
      const taken: Array<{ partition: number; lane: Lane; count: number }> = [];
      for (const [partition, lane] of this.lanes) {
        let count = 0;
        while (count < lane.entries.length && lane.entries[count]?.stage === 'written') count++;
        if (count === 0) continue;
        taken.push({ partition, lane, count });
        const last = lane.entries[count - 1]?.lastOffset;
        if (last !== undefined && last + 1 > (this.committed.get(partition) ?? -1)) positions.set(partition, last + 1);
      }
      const owed = [...this.owed];
      for (const [partition, position] of owed) if ((positions.get(partition) ?? -1) < position) positions.set(partition, position);
      const { lost, skipped } = await this.channel.commit(positions);
      if (lost.length > 0) {
        this.forget(lost);
        this.onLost(lost);
      }
      for (const [partition, position] of owed) {
        if (lost.includes(partition) || skipped.includes(partition) || this.owed.get(partition) !== position) continue;
        this.owed.delete(partition);
        if (position > (this.committed.get(partition) ?? -1)) this.committed.set(partition, position);
      }
      for (const { partition, lane, count } of taken) {
        if (lost.includes(partition)) continue;
        lane.entries.splice(0, count);
        this.stats.committedBatches += count;
        // A lane forgotten meanwhile (revoked during the commit) keeps no position.
        const position = positions.get(partition);
        if (position === undefined || this.lanes.get(partition) !== lane) continue;
        // Left out by the source: owed, and asked for again at the next commit (a quiet partition has no next batch to carry it).
        if (skipped.includes(partition)) this.owed.set(partition, Math.max(position, this.owed.get(partition) ?? -1));
        else this.committed.set(partition, position);
      }
    } finally {
      this.committing = false;
      this.commitStartedAt = undefined;
      for (const lane of this.lanes.values()) this.writeInOrder(lane);
    }
  }

  private writeInOrder(lane: Lane): void {
    if (this.committing) return;
    for (const entry of lane.entries) {
      if (entry.stage === 'running' || entry.stage === 'abandoned') return;
      if (entry.stage === 'finished') this.write(entry);
    }
  }

  private write(entry: Entry): void {
    const alerts = entry.outputs?.alerts.length ?? 0;
    if (entry.outputs !== undefined) this.channel.write(entry.partition, entry.outputs);
    entry.outputs = undefined;
    entry.stage = 'written';
    this.stats.batchFinished(entry.records, alerts, entry.readAt);
  }
}
