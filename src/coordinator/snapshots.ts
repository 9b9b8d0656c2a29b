import { StateError } from '../errors.js';
import type { DoneResult, PartitionUpdates, SnapshotResult } from '../protocol/messages.js';
import type { HashRing } from '../sharding/ring.js';
import type { SaveOutcome, StateStore } from '../state/types.js';
import type { ShardPool } from './shard-pool.js';

export interface SnapshotStats {
  snapshots: number;
  /** Zones in the last snapshot, the bytes of state it wrote, and the time from its cut to its last write. */
  lastZones: number;
  lastBytes: number;
  lastMs: number;
  recoveries: number;
  resyncs: number;
}

/** The workers' state at one point between two batches, and what the snapshot of it needs. */
export interface Cut {
  /** Each partition's resume offset after the batches submitted before the cut. */
  offsets: ReadonlyMap<number, string>;
  updates: Promise<PartitionUpdates[]>;
  /** Partitions exported whole (their zones' changes were lost before). */
  whole: ReadonlySet<number>;
  /** Each partition's ownership epoch at the cut: a partition released or recovered since is not saved. */
  epochs: ReadonlyMap<number, number>;
  startedAt: number;
}

/**
 * Moves zone state between the workers and the state store: loads a
 * partition's snapshot into the workers that own its zones, and saves what
 * changed since the last snapshot, per partition, with the offset it matches.
 * An update that cannot be saved (Redis down, or the store not holding what
 * this process last wrote) is not retried piecemeal: the partition is written
 * whole at the next snapshot.
 */
export class SnapshotKeeper {
  readonly stats: SnapshotStats = { snapshots: 0, lastZones: 0, lastBytes: 0, lastMs: 0, recoveries: 0, resyncs: 0 };
  /** The offset this process last saved or loaded per partition (what the store should hold). */
  private readonly stored = new Map<number, string | null>();
  /** Partitions whose next snapshot writes every zone whole. */
  private readonly needsWhole = new Set<number>();
  private readonly epochs = new Map<number, number>();

  constructor(
    private readonly store: StateStore,
    private readonly pools: readonly ShardPool[],
    private readonly ring: HashRing,
  ) {}

  /** Partitions recovered here and not released: the ones this process may snapshot. */
  owns(partition: number): boolean {
    return this.stored.has(partition);
  }

  /**
   * Makes the workers hold exactly the partition's snapshot: drops whatever
   * they had for it, then restores each zone in its owner. Returns the offset
   * to resume from, or null when there is no snapshot (start from the beginning).
   */
  async recover(partition: number): Promise<string | null> {
    this.bumpEpoch(partition);
    await Promise.all(this.pools.map((pool) => pool.run<DoneResult>({ kind: 'drop', partitions: [partition] })));
    this.needsWhole.delete(partition);
    const snapshot = await this.store.load(partition);
    this.stored.set(partition, snapshot?.offset ?? null);
    if (snapshot === null) return null;
    const byShard = this.pools.map(() => ({ zoneIds: [] as string[], images: [] as Uint8Array[] }));
    snapshot.zoneIds.forEach((zoneId, i) => {
      // Zones go to their owner under the current ring: this is how a worker-count change moves state.
      const shard = byShard[this.ring.ownerOf(zoneId)] as (typeof byShard)[number];
      shard.zoneIds.push(zoneId);
      shard.images.push(snapshot.images[i] as Uint8Array);
    });
    await Promise.all(this.pools.map((pool, shard) => pool.run<DoneResult>({ kind: 'restore', ...(byShard[shard] as (typeof byShard)[number]) })));
    this.stats.recoveries++;
    return snapshot.offset;
  }

  /** Forgets partitions this process no longer owns (their zones leave the workers). */
  async release(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    for (const partition of partitions) {
      this.bumpEpoch(partition);
      this.stored.delete(partition);
      this.needsWhole.delete(partition);
    }
    await Promise.all(this.pools.map((pool) => pool.run<DoneResult>({ kind: 'drop', partitions: [...partitions] })));
  }

  /**
   * Takes a cut: queues an export at every worker now, behind the batches
   * already queued and ahead of any submitted later. The caller calls this
   * between two batch submissions and passes the offsets those batches reach.
   * Nothing waits here: batches keep flowing while the workers export.
   */
  cut(offsets: ReadonlyMap<number, string>): Cut {
    const whole = new Set(this.needsWhole);
    const fullPartitions = [...whole];
    const exports = this.pools.map((pool) => pool.run<SnapshotResult>({ kind: 'snapshot', fullPartitions }));
    const updates = Promise.all(exports).then((results) => results.flatMap((result) => result.partitions));
    return { offsets: new Map(offsets), updates, whole, epochs: new Map(this.epochs), startedAt: performance.now() };
  }

  /**
   * Saves a cut. Call only once every batch before the cut is processed and
   * committed: a snapshot is never ahead of the committed offsets. `unsure`
   * partitions (some of their records before the cut were processed after
   * it) are written whole next time instead.
   */
  async save(cut: Cut, unsure: ReadonlySet<number>): Promise<void> {
    const byPartition = new Map<number, PartitionUpdates>();
    for (const part of await cut.updates) {
      const merged = byPartition.get(part.partition);
      if (merged === undefined) byPartition.set(part.partition, { ...part, chunks: [...part.chunks] });
      else {
        merged.zones += part.zones;
        merged.bytes += part.bytes;
        merged.chunks.push(...part.chunks);
      }
    }
    let zones = 0;
    let bytes = 0;
    let failure: unknown;
    const partitions = new Set([...cut.offsets.keys(), ...byPartition.keys()]);
    for (const partition of partitions) {
      if (!this.stored.has(partition) || this.epochs.get(partition) !== cut.epochs.get(partition)) continue;
      const offset = cut.offsets.get(partition);
      const updates = byPartition.get(partition);
      if (offset === undefined || unsure.has(partition)) {
        // No consistent resume point for these changes: they are written whole with the next one.
        if (updates !== undefined) this.needsWhole.add(partition);
        continue;
      }
      try {
        const outcome = await this.saveOne(partition, updates, offset, cut.whole.has(partition));
        if (outcome === 'resync') {
          // The store does not hold what we last wrote (Redis restarted empty, or another process wrote).
          this.stats.resyncs++;
          this.needsWhole.add(partition);
        } else if (updates !== undefined) {
          zones += updates.zones;
          bytes += updates.bytes;
        }
      } catch (error) {
        this.needsWhole.add(partition);
        failure ??= new StateError(`cannot save partition ${partition}'s snapshot`, { cause: error, retriable: true });
      }
    }
    this.stats.snapshots++;
    this.stats.lastZones = zones;
    this.stats.lastBytes = bytes;
    this.stats.lastMs = performance.now() - cut.startedAt;
    if (failure !== undefined) throw failure;
  }

  private async saveOne(partition: number, updates: PartitionUpdates | undefined, offset: string, whole: boolean): Promise<SaveOutcome | 'unchanged'> {
    const previous = this.stored.get(partition) ?? null;
    if (updates === undefined && !whole && previous === offset) {
      // Nothing new: only check the store still holds this partition (Redis may have restarted empty).
      return (await this.store.offsetOf(partition)) === offset ? 'unchanged' : 'resync';
    }
    const outcome = await this.store.save(partition, updates?.chunks ?? [], offset, previous, whole);
    if (outcome === 'saved') {
      this.stored.set(partition, offset);
      if (whole) this.needsWhole.delete(partition);
    } else if (whole) {
      throw new StateError(`partition ${partition}'s snapshot changed under a full rewrite: another engine process owns it`);
    }
    return outcome;
  }

  private bumpEpoch(partition: number): void {
    this.epochs.set(partition, (this.epochs.get(partition) ?? 0) + 1);
  }
}
