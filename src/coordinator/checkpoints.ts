import { setTimeout as sleep } from 'node:timers/promises';
import { StateError } from '../errors.js';
import type { PartitionControl, SourceBatch } from '../io/types.js';
import { logger } from '../log.js';
import { type DoneResult, type PartitionUpdates, restoreTasks, type SnapshotResult } from '../protocol/messages.js';
import { ZONES_PER_READ } from '../state/read-partition.js';
import type { SaveOutcome, StateStore, StoredSnapshot } from '../state/types.js';
import type { Shards } from './shards.js';
import type { ZoneTier } from './tiering.js';

const log = logger('checkpoints');

/**
 * How long a worker exports a cut at a time before the batches queued behind
 * the export run: a cut's export of 10,000 changed zones took 50–250 ms per
 * worker at 50k readings/s, and held every batch queued behind it that long.
 */
export const EXPORT_SLICE_MS = 2;

/**
 * How long a worker rests between two slices of a paced export, so that a
 * cut costs its workers at most a fifth of their time while it lasts instead
 * of all of it at once. Exported back to back, a cut of 10,000 changed zones
 * at 50k readings/s took ~250 ms, during which every task ran 5–17 ms (copy
 * on write, and the two cores the broker and the producer share with it)
 * and the engine's p99 was the cut's; paced, in three turns on one load: the
 * engine's p99 34–79 → 22–27 ms, end to end 56–69 → 48–51 ms
 * (bench/results/latency-paced-export.md).
 */
export const EXPORT_PAUSE_MS = 8;

export interface SnapshotStats {
  snapshots: number;
  /** Zones in the last snapshot, the bytes of state it wrote, and the time from its cut to its last write. */
  lastZones: number;
  lastBytes: number;
  lastMs: number;
  recoveries: number;
  resyncs: number;
}

/** What the read loop needs to know about a batch before it queues it. */
export interface Admission {
  /** The partition's ownership epoch the batch was admitted under. */
  epoch: number;
  /** How many leading records only rebuild state (their outputs were committed before). */
  replayed: number;
}

/** The workers' state at one point between two batches, and what a snapshot of it needs. */
export interface Cut {
  /** Each partition's resume offset after the batches queued before the cut. */
  offsets: ReadonlyMap<number, number>;
  updates: Promise<PartitionUpdates[]>;
  /** Partitions exported whole. */
  whole: ReadonlySet<number>;
  /**
   * Of those, the ones whose save replaces every stored zone: none of their
   * zones lived only in the store at the cut (decided then: a zone read back
   * between the cut and the save is in no export of this cut).
   */
  full: ReadonlySet<number>;
  /** Each partition's ownership epoch at the cut: a partition released or recovered since is not saved. */
  epochs: ReadonlyMap<number, number>;
  startedAt: number;
  /** 1, 2, ...: the workers mark each zone they export with it (tiering evicts a zone only once its export is saved). */
  number: number;
}

/** How a cut is exported: paced (resting between slices) for at most `pacedForMs`, then back to back. */
export interface CutPace {
  pacedForMs: number;
}

/** Everything this process knows about one partition it owns. */
interface Owned {
  epoch: number;
  recovered: boolean;
  /** Records before this offset are replays (their outputs were committed before a restart or a move). */
  replayUntil: number | undefined;
  /** Resume offset after the last batch queued at the workers. */
  submittedUntil: number | undefined;
  /** The offset the store holds for the partition, as this process last saved or loaded it (null: none). */
  stored: number | null;
  /** The next snapshot writes every zone of the partition whole (a save failed, or the store lost it). */
  whole: boolean;
  /** The offset of a save of this process now running (undefined: none). */
  saving: number | undefined;
  /** `stored` before this process's latest save (null: none): a read answered just before that save may still arrive after it. */
  previous: number | null;
}

/** Where a recovered partition stands. */
export interface Recovered {
  /** The group's committed offset (null: none). */
  committed: number | null;
  /** The snapshot's offset, when it is ahead of the committed one: reading resumed there. */
  snapshotAhead?: number;
}

/**
 * The one owner of partition bookkeeping: which partitions this process owns
 * and under which epoch, how each is recovered when it arrives (drop what the
 * workers hold of it, load its snapshot into the zones' owners, seek to the
 * snapshot and mark what is replay), and how snapshots are cut and saved so
 * that a snapshot is never ahead of the committed offsets.
 *
 * A source without partitions (file, stdin, generator) is one partition,
 * always owned, never recovered.
 */
export class Checkpoints {
  readonly stats: SnapshotStats = { snapshots: 0, lastZones: 0, lastBytes: 0, lastMs: 0, recoveries: 0, resyncs: 0 };
  private readonly owned = new Map<number, Owned>();
  private epochs = 0;
  private cuts = 0;
  /** Until when (performance.now()) the cut being exported rests between its slices. */
  private pacedUntil = 0;

  constructor(
    private readonly shards: Shards,
    private readonly store: StateStore | undefined,
    private readonly control: PartitionControl | undefined,
    /** A failure that must stop the engine (a worker died while dropping or restoring zones). */
    private readonly fail: (error: unknown) => void,
    /** Tiering (state.maxZonesInMemory): zones beyond the workers' share live only in the store. */
    private readonly tier?: ZoneTier,
  ) {
    if (control === undefined) this.owned.set(0, this.fresh(true));
  }

  /** Whether every assigned partition is recovered (a source without partitions always is). */
  ready(): boolean {
    if (this.control === undefined) return true;
    if (this.owned.size === 0) return false;
    for (const state of this.owned.values()) if (!state.recovered) return false;
    return true;
  }

  /**
   * A partition arrived: recover it. The source hands on none of its records
   * until this resolves; a rejection (unusable state) stops the engine.
   * Resolves to the group's committed offset (null: none) and, when the
   * snapshot is ahead of it, the snapshot's offset; undefined: no recovery
   * was needed, or it was superseded.
   */
  async assigned(partition: number): Promise<Recovered | undefined> {
    const state = this.fresh(false);
    this.owned.set(partition, state);
    const current = () => this.owned.get(partition) === state;
    const { store, control } = this;
    if (store === undefined || control === undefined) {
      state.recovered = true;
      return undefined;
    }
    const committed = await control.committed(partition);
    const snapshot = await this.restore(store, partition, current);
    if (snapshot === undefined) return undefined;
    if (snapshot !== null) this.stats.recoveries++;
    state.stored = snapshot?.offset ?? null;
    if (snapshot?.converted) {
      // The store still holds the old layout: byte ranges of the new one must not be written over it.
      state.whole = true;
      log.info(
        { partition },
        'a snapshot made before live rules was converted as it loaded; the next snapshot writes the partition whole, in the current format',
      );
    }
    // No snapshot but offsets committed (after `klaxon state reset`): rebuild from the oldest retained record.
    // Neither: where the group starts. Always a seek: a partition recovered again is not at its committed offset.
    const from = snapshot?.offset ?? (committed === null ? await control.initial(partition) : await control.earliest(partition));
    if (!current()) return undefined;
    if (committed !== null && from > committed) {
      log.warn({ partition, snapshot: from, committed }, 'the snapshot is ahead of the committed offset (offsets rewound?): resuming at the snapshot');
    }
    control.seek(partition, from);
    if (committed !== null && from < committed) state.replayUntil = committed;
    state.recovered = true;
    log.debug({ partition, snapshot: snapshot?.offset ?? null, committed, replayUntil: state.replayUntil }, 'partition recovered');
    return { committed, ...(snapshot !== null && (committed === null || snapshot.offset > committed) ? { snapshotAhead: snapshot.offset } : {}) };
  }

  /**
   * Loads a partition's snapshot into whichever workers own its zones under
   * the current ring (this is how a worker-count change moves state), a
   * batch of zones at a time: no process holds a whole partition's images at
   * once. Whatever the workers held of the partition is dropped first. A
   * snapshot saved while it was read (its old owner's last save) would mix
   * two cuts: then it is read again. Undefined when superseded.
   */
  private async restore(store: StateStore, partition: number, current: () => boolean): Promise<StoredSnapshot | null | undefined> {
    for (;;) {
      this.tier?.forget([partition]);
      await this.shards.broadcast<DoneResult>(() => ({ kind: 'drop', partitions: [partition] }));
      const snapshot = await store.snapshotOf(partition);
      if (!current()) return undefined;
      if (snapshot === null) return null;
      // The store's snapshot is this process's from here: zones it evicts while restoring are read back from it.
      const state = this.owned.get(partition);
      if (state !== undefined) state.stored = snapshot.offset;
      const zoneIds = await store.zoneIdsOf(partition);
      const read = (from: number) => {
        const ids = zoneIds.slice(from, from + ZONES_PER_READ);
        return store.fetch(partition, ids, snapshot).then((images) => ({ ids, images }));
      };
      let next = zoneIds.length > 0 ? read(0) : undefined;
      for (let from = 0; next !== undefined; from += ZONES_PER_READ) {
        const { ids, images } = await next;
        const absent = ids.find((_, k) => images[k] === null);
        if (absent !== undefined) throw new StateError(`the snapshot of partition ${partition} lists zone ${absent} but does not hold it`);
        // The next batch is read from the store while this one is restored.
        next = from + ZONES_PER_READ < zoneIds.length ? read(from + ZONES_PER_READ) : undefined;
        next?.catch(() => {});
        if (!current()) return undefined;
        await Promise.all(
          restoreTasks(this.shards.count, (zoneId) => this.shards.ring.ownerOf(zoneId), ids, images as Uint8Array[]).map(({ shard, task }) =>
            this.shards.run<DoneResult>(shard, task, [task.images.buffer as ArrayBuffer]),
          ),
        );
        // Tiering: beyond the workers' share, restored zones go straight back to the store's keeping (restored zones are
        // what the store holds: cut 0). Not for a converted snapshot: its stored images are in the old layout.
        if (!snapshot.converted) await this.tier?.evict([partition], [0]);
      }
      if (!current()) return undefined;
      if ((await store.offsetOf(partition)) === snapshot.offset) return snapshot;
      log.info({ partition }, 'the snapshot was saved while it was read: reading it again');
    }
  }

  /** Partitions left: forget them, and drop their zones at the workers (their new owner loads them from the store). */
  revoked(partitions: readonly number[]): void {
    for (const partition of partitions) this.owned.delete(partition);
    if (partitions.length === 0) return;
    this.tier?.forget(partitions);
    this.shards.broadcast<DoneResult>(() => ({ kind: 'drop', partitions: [...partitions] })).catch(this.fail);
  }

  /**
   * Admits a batch just read from the source, in source order: undefined when
   * its partition is not (or no longer, or not yet) this process's to process.
   */
  admit(batch: SourceBatch): Admission | undefined {
    const state = this.owned.get(batch.partition);
    if (state === undefined || !state.recovered) return undefined;
    return { epoch: state.epoch, replayed: this.replayedIn(state, batch.offsets) };
  }

  /** Whether the partition is still owned under the epoch a batch was admitted with. */
  owns(partition: number, epoch: number): boolean {
    return this.owned.get(partition)?.epoch === epoch && this.control?.owns(partition) !== false;
  }

  /** The batch is queued at the workers: a cut from now on includes it. */
  submitted(batch: SourceBatch, epoch: number): void {
    const state = this.owned.get(batch.partition);
    const last = batch.offsets?.[batch.offsets.length - 1];
    if (state?.epoch === epoch && last !== undefined) state.submittedUntil = last + 1;
  }

  /**
   * Takes a cut: queues an export at every worker now, behind the batches
   * already queued and ahead of any queued later. Call it between two batch
   * submissions. Nothing waits here: batches keep flowing while workers export,
   * a slice at a time between them (the export is of the zones as they were at
   * the cut: a worker exports a zone before a later reading changes it).
   */
  cut(pace: CutPace = { pacedForMs: 0 }): Cut {
    this.pacedUntil = performance.now() + pace.pacedForMs;
    const whole = new Set<number>();
    const full = new Set<number>();
    const offsets = new Map<number, number>();
    const epochs = new Map<number, number>();
    for (const [partition, state] of this.owned) {
      if (state.whole) whole.add(partition);
      if (state.whole && (this.tier?.holds(partition) ?? 0) === 0) full.add(partition);
      if (state.submittedUntil !== undefined) offsets.set(partition, state.submittedUntil);
      epochs.set(partition, state.epoch);
    }
    const fullPartitions = [...whole];
    const number = ++this.cuts;
    const begun = this.shards.broadcast<SnapshotResult>(() => ({ kind: 'snapshot', fullPartitions, cut: number, sliceMs: EXPORT_SLICE_MS }));
    const updates = begun.then((results) => Promise.all(results.map((first, shard) => this.restOfExport(shard, first)))).then((results) => results.flat());
    // save() awaits it and reports its failure; an engine that fails before its save never does, and a slice still at a
    // worker when the workers close must not end the process as an unhandled rejection.
    updates.catch(() => {});
    return { offsets, updates, whole, full, epochs, startedAt: performance.now(), number };
  }

  /** Asks a worker for the rest of a cut's export, a slice at a time, each queued behind the batches queued before it. */
  private async restOfExport(shard: number, first: SnapshotResult): Promise<PartitionUpdates[]> {
    let result = first;
    while (!result.done) {
      if (performance.now() < this.pacedUntil) await sleep(EXPORT_PAUSE_MS);
      result = await this.shards.run<SnapshotResult>(shard, { kind: 'snapshotSlice', sliceMs: EXPORT_SLICE_MS });
    }
    return result.partitions;
  }

  /** The cut being exported is wanted now (a stop, tiering's pressure): its slices go back to back from here. */
  hurry(): void {
    this.pacedUntil = 0;
  }

  /**
   * Saves a cut, per partition, only where the committed position has reached
   * the cut's: a snapshot is never ahead of the committed offsets. Changes that
   * cannot be saved are written whole by the next snapshot (the workers have
   * forgotten them). A store failure is thrown as a retriable StateError after
   * the other partitions were tried.
   */
  async save(cut: Cut, committedUntil: (partition: number) => number | undefined): Promise<void> {
    const store = this.store;
    if (store === undefined) return;
    const byPartition = mergeByPartition(await cut.updates);
    let zones = 0;
    let bytes = 0;
    let failure: unknown;
    /** Partitions whose every export up to this cut is in the store: tiering may evict their unchanged zones. */
    const saved: number[] = [];
    for (const partition of new Set([...cut.offsets.keys(), ...byPartition.keys()])) {
      const state = this.owned.get(partition);
      if (state === undefined || state.epoch !== cut.epochs.get(partition)) continue;
      const offset = cut.offsets.get(partition);
      const updates = byPartition.get(partition);
      const committed = committedUntil(partition);
      if (offset === undefined || committed === undefined || committed < offset) {
        if (updates !== undefined) state.whole = true;
        continue;
      }
      try {
        const outcome = await this.saveOne(store, partition, state, updates, offset, cut.whole.has(partition), cut.full.has(partition));
        if (outcome === 'resync' && this.tier !== undefined && this.tier.holds(partition) > 0) {
          // Zones kept only in the store are gone with it, or another process owns the partition now: recover it again.
          this.tier.lose(partition, 'its snapshot in the store is not the one this process last saved');
          continue;
        }
        if (outcome === 'resync') {
          // The store does not hold what we last wrote (Redis restarted empty, or another process wrote).
          this.stats.resyncs++;
          state.whole = true;
        } else {
          if (updates !== undefined) {
            zones += updates.zones;
            bytes += updates.bytes;
          }
          if (!state.whole) saved.push(partition);
        }
      } catch (error) {
        state.whole = true;
        failure ??= new StateError(`cannot save partition ${partition}'s snapshot`, { cause: error, retriable: true });
      }
    }
    this.stats.snapshots++;
    this.stats.lastZones = zones;
    this.stats.lastBytes = bytes;
    this.stats.lastMs = performance.now() - cut.startedAt;
    if (failure !== undefined) throw failure;
    // Awaited: a snapshot is over once its eviction round is (the intake may be waiting for room, see ZoneTier.pressure).
    await this.tier?.evict(
      saved,
      saved.map(() => cut.number),
    );
  }

  private async saveOne(
    store: StateStore,
    partition: number,
    state: Owned,
    updates: PartitionUpdates | undefined,
    offset: number,
    whole: boolean,
    /** Replace every stored zone (a whole export with no zone living only in the store). */
    full: boolean,
  ): Promise<SaveOutcome | 'unchanged'> {
    if (updates === undefined && !whole && state.stored === offset) {
      // Nothing new: only check the store still holds this partition (Redis may have restarted empty).
      return (await store.offsetOf(partition)) === offset ? 'unchanged' : 'resync';
    }
    state.saving = offset;
    let outcome: SaveOutcome;
    try {
      outcome = await store.save(partition, updates?.chunks ?? [], offset, state.stored, full);
      // In the same step as `saving` is cleared, so that a read of the partition's offset always finds it as one of
      // `previous`, `stored` or `saving` (tiering took "none of them" for another process's snapshot and recovered the
      // partition: 3 needless recoveries, 70 repeated alerts, in a 37-second latency run).
      if (outcome === 'saved') {
        state.previous = state.stored;
        state.stored = offset;
      }
    } finally {
      state.saving = undefined;
    }
    if (outcome === 'saved') {
      if (whole) state.whole = false;
    } else if (full) {
      throw new StateError(`partition ${partition}'s snapshot changed under a full rewrite: another engine process owns it`);
    }
    return outcome;
  }

  /**
   * Whether a snapshot of the partition at this offset is one this process saved or loaded (or is saving now): not
   * another's. The offset read may be one save old: saves run on a connection of their own, so a save's answer can be
   * handled before that of a read Redis answered just before the save.
   */
  ownSnapshot(partition: number, offset: number | null): boolean {
    const state = this.owned.get(partition);
    return state !== undefined && offset !== null && (offset === state.stored || offset === state.saving || offset === state.previous);
  }

  private replayedIn(state: Owned, offsets: readonly number[] | undefined): number {
    const until = state.replayUntil;
    if (until === undefined || offsets === undefined) return 0;
    let replayed = 0;
    while (replayed < offsets.length && (offsets[replayed] ?? until) < until) replayed++;
    if (replayed === offsets.length && (offsets[offsets.length - 1] ?? -1) + 1 < until) return replayed;
    state.replayUntil = undefined;
    return replayed;
  }

  private fresh(recovered: boolean): Owned {
    return {
      epoch: ++this.epochs,
      recovered,
      replayUntil: undefined,
      submittedUntil: undefined,
      stored: null,
      whole: false,
      saving: undefined,
      previous: null,
    };
  }
}

/** One partition's updates may come from several workers: one list per partition. */
function mergeByPartition(parts: readonly PartitionUpdates[]): Map<number, PartitionUpdates> {
  const byPartition = new Map<number, PartitionUpdates>();
  for (const part of parts) {
    const merged = byPartition.get(part.partition);
    if (merged === undefined) byPartition.set(part.partition, { ...part, chunks: [...part.chunks] });
    else {
      merged.zones += part.zones;
      merged.bytes += part.bytes;
      merged.chunks.push(...part.chunks);
    }
  }
  return byPartition;
}
