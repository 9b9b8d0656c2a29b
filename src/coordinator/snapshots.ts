import { StateError } from '../errors.js';
import type { DoneResult, SnapshotResult } from '../protocol/messages.js';
import type { HashRing } from '../sharding/ring.js';
import { zoneIdOf } from '../state/codec.js';
import type { SaveOutcome, StateStore } from '../state/types.js';
import type { ShardPool } from './shard-pool.js';

export interface SnapshotStats {
  snapshots: number;
  lastZones: number;
  lastBytes: number;
  lastMs: number;
  recoveries: number;
  resyncs: number;
}

/**
 * Moves zone state between the workers and the state store: loads a
 * partition's snapshot into the workers that own its zones, and saves what
 * changed since the last snapshot, per partition, with the offset it matches.
 * A save that fails (Redis down) stays pending and is merged into the next.
 */
export class SnapshotKeeper {
  readonly stats: SnapshotStats = { snapshots: 0, lastZones: 0, lastBytes: 0, lastMs: 0, recoveries: 0, resyncs: 0 };
  /** The offset this process last saved or loaded per partition (what the store should hold). */
  private readonly stored = new Map<number, string | null>();
  private readonly pending = new Map<number, Map<string, Uint8Array>>();

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
    await Promise.all(this.pools.map((pool) => pool.run<DoneResult>({ kind: 'drop', partitions: [partition] })));
    this.pending.delete(partition);
    const snapshot = await this.store.load(partition);
    this.stored.set(partition, snapshot?.offset ?? null);
    if (snapshot === null) return null;
    const byShard: Uint8Array[][] = this.pools.map(() => []);
    for (const bytes of snapshot.zones) {
      // Zones go to their owner under the current ring: this is how a worker-count change moves state.
      byShard[this.ring.ownerOf(zoneIdOf(bytes))]?.push(bytes);
    }
    await Promise.all(this.pools.map((pool, shard) => pool.run<DoneResult>({ kind: 'restore', zones: byShard[shard] as Uint8Array[] })));
    this.stats.recoveries++;
    return snapshot.offset;
  }

  /** Forgets partitions this process no longer owns (their zones leave the workers). */
  async release(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    for (const partition of partitions) {
      this.stored.delete(partition);
      this.pending.delete(partition);
    }
    await Promise.all(this.pools.map((pool) => pool.run<DoneResult>({ kind: 'drop', partitions: [...partitions] })));
  }

  /**
   * Saves every changed zone with its partition's resume offset. Must run
   * while no records are being processed (the pipeline holds its barrier),
   * so that the zones are exactly the effect of the records before `offsets`.
   */
  async save(offsets: ReadonlyMap<number, string>): Promise<void> {
    const started = performance.now();
    const exported = await this.export([]);
    let zones = 0;
    let bytes = 0;
    for (const [partition, fresh] of exported) {
      // Zones of a partition without a known resume point wait for one (and late records of a partition
      // this process no longer owns are not its to save).
      if (!offsets.has(partition) && this.stored.has(partition)) this.pending.set(partition, this.merge(partition, fresh));
    }
    for (const [partition, offset] of offsets) {
      if (!this.stored.has(partition)) continue;
      const changed = this.merge(partition, exported.get(partition));
      let outcome: SaveOutcome;
      if (changed.size === 0 && this.stored.get(partition) === offset) {
        // Nothing new: only check the store still holds this partition (Redis may have restarted empty).
        if ((await this.store.offsetOf(partition)) === offset) continue;
        outcome = 'resync';
      } else {
        outcome = await this.trySave(partition, changed, offset, false);
      }
      if (outcome === 'resync') {
        // The store does not hold what we last wrote (Redis restarted empty, or another process wrote): write it all.
        this.stats.resyncs++;
        const all = (await this.export([partition])).get(partition) ?? new Map<string, Uint8Array>();
        for (const [zoneId, state] of changed) if (!all.has(zoneId)) all.set(zoneId, state);
        outcome = await this.trySave(partition, all, offset, true);
        if (outcome === 'resync') throw new StateError(`partition ${partition}'s snapshot changed under a full rewrite: another engine process owns it`);
      }
      zones += changed.size;
      for (const state of changed.values()) bytes += state.byteLength;
    }
    this.stats.snapshots++;
    this.stats.lastZones = zones;
    this.stats.lastBytes = bytes;
    this.stats.lastMs = performance.now() - started;
  }

  private async trySave(partition: number, zones: Map<string, Uint8Array>, offset: string, full: boolean) {
    try {
      const outcome = await this.store.save(partition, zones, offset, this.stored.get(partition) ?? null, full);
      if (outcome === 'saved') {
        this.stored.set(partition, offset);
        this.pending.delete(partition);
      }
      return outcome;
    } catch (error) {
      // Keep the zones for the next snapshot; the pipeline goes on (offsets are still committed to Kafka).
      this.pending.set(partition, zones);
      throw new StateError(`cannot save partition ${partition}'s snapshot`, { cause: error, retriable: true });
    }
  }

  private merge(partition: number, fresh: Map<string, Uint8Array> | undefined): Map<string, Uint8Array> {
    const earlier = this.pending.get(partition);
    if (earlier === undefined) return fresh ?? new Map();
    for (const [zoneId, state] of fresh ?? []) earlier.set(zoneId, state);
    return earlier;
  }

  private async export(fullPartitions: number[]): Promise<Map<number, Map<string, Uint8Array>>> {
    const results = await Promise.all(this.pools.map((pool) => pool.run<SnapshotResult>({ kind: 'snapshot', fullPartitions })));
    const byPartition = new Map<number, Map<string, Uint8Array>>();
    for (const result of results) {
      result.zoneIds.forEach((zoneId, i) => {
        const partition = result.partitions[i] as number;
        const zones = byPartition.get(partition) ?? new Map<string, Uint8Array>();
        byPartition.set(partition, zones);
        zones.set(zoneId, result.zones[i] as Uint8Array);
      });
    }
    return byPartition;
  }
}

