/**
 * In-process stand-ins for the parts around the coordinator, scripted by the
 * test: a partitioned log with a consumer group's committed offsets, a source
 * that is one member of that group (assignments, revocations, fetches that
 * land late), sinks that keep what they were given, and a "fuse" that models
 * a crash: once blown, nothing the process does reaches the outside world.
 * The broker tests cover the real Kafka and Redis; these let the coordinator's
 * cut, commit and rebalance logic run in milliseconds.
 */

import { zoneKey } from '../../src/io/kafka/readings-producer.js';
import { recordCount } from '../../src/io/packed-records.js';
import type { BatchOutputs, OutRecord, PartitionControl, PartitionListener, Sink, Source, SourceBatch } from '../../src/io/types.js';
import { hashBytes } from '../../src/sharding/hash.js';
import type { MemoryStateStore } from '../../src/state/memory-store.js';
import type { SaveOutcome, StateStore, StoredSnapshot, StoredWindow } from '../../src/state/types.js';

/** A crash: once blown, commits, saves and writes of that process are lost. */
export class Fuse {
  blown = false;
  blow(): void {
    this.blown = true;
  }
}

/** Partitions of records, keyed by zone like a well-behaved producer, and the group's committed offsets. */
export class ScriptedLog {
  readonly partitions: Buffer[][];
  readonly lines: number[][];
  readonly committed = new Map<number, number>();
  /** Exactly-once: what committed transactions wrote (a read_committed reader's view), and each partition's producer epoch. */
  readonly committedAlerts: OutRecord[] = [];
  readonly committedDeadLetters: OutRecord[] = [];
  readonly epochs = new Map<number, number>();
  /** Lines appended so far (the next line's number is this + 1). */
  private appended = 0;
  /** The group's generation: a rebalance starts a new one (ScriptedLog.rebalance). */
  generation = 0;

  constructor(count: number) {
    this.partitions = Array.from({ length: count }, () => []);
    this.lines = Array.from({ length: count }, () => []);
  }

  /** Appends lines, each to its zone's partition (unparseable lines to partition 0); remembers each record's line number. */
  append(lines: readonly string[]): void {
    for (const line of lines) {
      const value = Buffer.from(line);
      const key = zoneKey(value);
      const partition = key === null ? 0 : hashBytes(key) % this.partitions.length;
      this.partitions[partition]?.push(value);
      this.lines[partition]?.push(++this.appended);
    }
  }

  get size(): number {
    return this.partitions.reduce((sum, records) => sum + records.length, 0);
  }

  committedTotal(): number {
    return [...this.committed.values()].reduce((a, b) => a + b, 0);
  }

  /**
   * The group rebalances: a member commits again only once it has taken its
   * new assignment (as a broker refuses an offset commit of an older
   * generation). Tests that assign without calling it stay in generation 0.
   */
  rebalance(): void {
    this.generation++;
  }
}

export interface ScriptedSourceOptions {
  batchSize: number;
  fuse: Fuse;
  /** Keep batches of a revoked partition that are already queued (the worst case: they reach the engine after the revoke). */
  keepQueuedOnRevoke?: boolean;
}

/** One member of the scripted log's consumer group; the test decides assignments and fetches. */
export class ScriptedSource implements Source {
  readonly partitions: PartitionControl;
  private readonly queue: SourceBatch[] = [];
  private waiter: ((batch: SourceBatch | null) => void) | undefined;
  private assigned = new Set<number>();
  /** The group generation of this member's latest assignment. */
  private generation = 0;
  private readonly position = new Map<number, number>();
  private readonly recovering = new Map<number, Promise<void>>();
  private listener: PartitionListener | undefined;
  private stopped = false;
  private ended = false;

  constructor(
    private readonly log: ScriptedLog,
    private readonly options: ScriptedSourceOptions,
  ) {
    this.partitions = {
      listen: (listener) => {
        this.listener = listener;
      },
      committed: async (partition) => this.log.committed.get(partition) ?? null,
      earliest: async () => 0,
      initial: async () => 0,
      recover: (partition) => this.recover(partition),
      seek: (partition, offset) => {
        this.position.set(partition, offset);
        for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.partition === partition) this.queue.splice(i, 1);
      },
      owns: (partition) => this.assigned.has(partition),
    };
  }

  /** Recovers an owned partition as if newly assigned (PartitionControl.recover). */
  recover(partition: number): void {
    if (!this.assigned.has(partition)) return;
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.partition === partition) this.queue.splice(i, 1);
    this.listener?.revoked([partition]);
    this.position.set(partition, this.log.committed.get(partition) ?? 0);
    const recovery = this.listener?.assigned(partition) ?? Promise.resolve();
    recovery.catch(() => {});
    this.recovering.set(partition, recovery);
  }

  /** A new assignment for this member (what a rebalance hands it). */
  assign(partitions: readonly number[]): void {
    this.generation = this.log.generation;
    const previous = this.assigned;
    this.assigned = new Set(partitions);
    const revoked = [...previous].filter((p) => !this.assigned.has(p));
    for (const partition of revoked) {
      this.position.delete(partition);
      this.recovering.delete(partition);
    }
    if (!this.options.keepQueuedOnRevoke) {
      for (let i = this.queue.length - 1; i >= 0; i--) if (!this.assigned.has(this.queue[i]?.partition ?? -1)) this.queue.splice(i, 1);
    }
    if (revoked.length > 0) this.listener?.revoked(revoked);
    for (const partition of partitions) {
      if (previous.has(partition)) continue;
      this.position.set(partition, this.log.committed.get(partition) ?? 0);
      const recovery = this.listener?.assigned(partition) ?? Promise.resolve();
      recovery.catch(() => {});
      this.recovering.set(partition, recovery);
    }
  }

  /**
   * One fetch of a partition: the request goes out from the current position,
   * the records are held until the partition is recovered, and are dropped if
   * a seek moved the position meanwhile (as kafkajs's stale batches are), and fetched again.
   * `force`: hand the batch on even if the partition was revoked meanwhile.
   */
  async fetch(partition: number, options: { max?: number; force?: boolean } = {}): Promise<number> {
    const from = this.position.get(partition);
    if (from === undefined) return 0;
    await this.recovering.get(partition);
    if (!options.force && !this.assigned.has(partition)) return 0;
    // A seek during the wait made this fetch stale: fetch again from where the seek said (kafkajs does the same).
    if (!options.force && this.position.get(partition) !== from) return this.fetch(partition, options);
    const records = this.log.partitions[partition] ?? [];
    const end = Math.min(records.length, from + (options.max ?? this.options.batchSize));
    if (end <= from) return 0;
    const offsets = Array.from({ length: end - from }, (_, i) => from + i);
    const lines = this.log.lines[partition] ?? [];
    this.push({
      partition,
      values: records.slice(from, end),
      keys: null,
      timestamps: new Float64Array(end - from),
      offsets,
      position: (i) => ({ file: 'scripted', line: lines[from + i] ?? -1 }),
    });
    if (this.position.get(partition) === from) this.position.set(partition, end);
    return end - from;
  }

  /** Fetches every assigned partition, round robin, until none has records left (or `limit` records were fetched). */
  async drain(limit = Number.POSITIVE_INFINITY): Promise<number> {
    let fetched = 0;
    for (let progress = true; progress && fetched < limit; ) {
      progress = false;
      for (const partition of [...this.assigned]) {
        const n = await this.fetch(partition, { max: Math.min(this.options.batchSize, limit - fetched) });
        fetched += n;
        if (n > 0) progress = true;
        if (fetched >= limit) break;
      }
    }
    return fetched;
  }

  /** Ends the stream once the queue is empty (a bounded source). */
  end(): void {
    this.ended = true;
    if (this.queue.length === 0) this.wake(null);
  }

  next(): Promise<SourceBatch | null> {
    const batch = this.queue.shift();
    if (batch !== undefined) return Promise.resolve(batch);
    if (this.stopped || this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]> {
    // A member that has not heard of the latest rebalance commits nothing (the broker's generation check).
    if (this.options.fuse.blown || this.generation !== this.log.generation) return [...positions.keys()];
    const skipped: number[] = [];
    for (const [partition, offset] of positions) {
      if (this.assigned.has(partition)) this.log.committed.set(partition, offset);
      else skipped.push(partition);
    }
    return skipped;
  }

  lag(): number | undefined {
    return this.queue.reduce((sum, batch) => sum + recordCount(batch), 0);
  }

  stop(): void {
    this.stopped = true;
    this.wake(null);
  }

  async close(): Promise<void> {
    this.stop();
  }

  private push(batch: SourceBatch): void {
    if (this.waiter !== undefined) this.wake(batch);
    else this.queue.push(batch);
  }

  private wake(batch: SourceBatch | null): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(batch);
  }
}

/** A sink that keeps every record it is given, until its process's fuse blows. */
export class MemorySink implements Sink {
  readonly records: OutRecord[] = [];
  constructor(private readonly fuse: Fuse) {}
  write(records: readonly OutRecord[]): void {
    if (!this.fuse.blown) this.records.push(...records);
  }
  async ready(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** A view of a shared in-memory store for one process: its saves are lost once its fuse blows; `beforeSave` can blow it. */
export class FusedStore implements StateStore {
  saves = 0;

  constructor(
    private readonly shared: MemoryStateStore,
    private readonly fuse: Fuse,
    private readonly beforeSave: (save: number) => void = () => {},
  ) {}

  snapshotOf(partition: number): Promise<StoredSnapshot | null> {
    return this.shared.snapshotOf(partition);
  }

  zoneIdsOf(partition: number): Promise<string[]> {
    return this.shared.zoneIdsOf(partition);
  }

  fetch(partition: number, zoneIds: readonly string[]): Promise<Array<Uint8Array | null>> {
    return this.shared.fetch(partition, zoneIds);
  }

  async save(partition: number, chunks: readonly Uint8Array[], offset: number, previous: number | null, full: boolean): Promise<SaveOutcome> {
    this.beforeSave(++this.saves);
    if (this.fuse.blown) return 'saved';
    return this.shared.save(partition, chunks, offset, previous, full);
  }

  offsetOf(partition: number): Promise<number | null> {
    return this.shared.offsetOf(partition);
  }

  partitions(): Promise<number[]> {
    return this.shared.partitions();
  }

  storedWindow(): Promise<StoredWindow | null> {
    return this.shared.storedWindow();
  }

  zoneIds(): Promise<string[]> {
    return this.shared.zoneIds();
  }

  reset(): Promise<number> {
    return this.shared.reset();
  }

  async close(): Promise<void> {}
}

/** One partition's open transaction in the scripted log. */
interface HeldTransaction {
  epoch: number;
  alerts: OutRecord[];
  deadLetters: OutRecord[];
}

/**
 * Per-partition transactions against the scripted log, with Kafka's fencing:
 * acquiring a partition bumps its epoch, and a commit made under an older
 * epoch fails (the partition is lost to its committer). Outputs reach the
 * log only when their transaction commits, together with the offset. A
 * commit covers the transactions open when it is called, as
 * PartitionTransactions' does.
 */
export class ScriptedTransactions {
  private readonly held = new Map<number, HeldTransaction>();
  commits = 0;
  fenced = 0;
  /** Called as a commit starts, with its outcome to come: a test can act while the commit runs. */
  onCommit: ((positions: ReadonlyMap<number, number>, landed: Promise<readonly number[]>) => void) | undefined;

  constructor(
    private readonly log: ScriptedLog,
    private readonly fuse: Fuse,
  ) {}

  async acquire(partition: number): Promise<void> {
    if (this.fuse.blown) return;
    const epoch = (this.log.epochs.get(partition) ?? 0) + 1;
    this.log.epochs.set(partition, epoch);
    this.held.set(partition, { epoch, alerts: [], deadLetters: [] });
  }

  async release(partition: number): Promise<void> {
    this.held.delete(partition);
  }

  write(partition: number, { alerts, deadLetters }: BatchOutputs): void {
    const open = this.held.get(partition);
    if (open === undefined) throw new Error(`partition ${partition} written without its transactional id`);
    open.alerts.push(...alerts);
    open.deadLetters.push(...deadLetters);
  }

  /** Alerts in the partition's open transaction. */
  holding(partition: number): number {
    return this.held.get(partition)?.alerts.length ?? 0;
  }

  async ready(): Promise<void> {}

  commit(positions: ReadonlyMap<number, number>): Promise<number[]> {
    // Taken now: a transaction acquired while this commit runs is not part of it (`positions` are of the batches
    // written before). Read after the wait, a partition lost and taken back meanwhile committed its old position
    // under its new epoch, without the alerts its old transaction held.
    const landed = this.land([...this.held], positions);
    this.onCommit?.(positions, landed);
    return landed;
  }

  private async land(taken: ReadonlyArray<readonly [number, HeldTransaction]>, positions: ReadonlyMap<number, number>): Promise<number[]> {
    await new Promise((resolve) => setImmediate(resolve));
    const lost: number[] = [];
    for (const [partition, open] of taken) {
      const position = positions.get(partition);
      if (position === undefined && open.alerts.length === 0 && open.deadLetters.length === 0) continue;
      // Released (and maybe acquired again) while the commit ran: given up on purpose, its new holder redoes its records.
      if (this.fuse.blown || this.held.get(partition) !== open) continue;
      if (this.log.epochs.get(partition) !== open.epoch) {
        this.fenced++;
        this.held.delete(partition);
        lost.push(partition);
        continue;
      }
      this.log.committedAlerts.push(...open.alerts);
      this.log.committedDeadLetters.push(...open.deadLetters);
      if (position !== undefined) this.log.committed.set(partition, position);
      open.alerts = [];
      open.deadLetters = [];
      this.commits++;
    }
    return lost;
  }
}
