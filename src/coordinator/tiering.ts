import { StateError } from '../errors.js';
import { logger } from '../log.js';
import { type EvictedResult, type ReleasedResult, type RestoreTask, restoreTasks } from '../protocol/messages.js';
import type { StateStore } from '../state/types.js';
import type { Shards } from './shards.js';

const log = logger('tiering');

/** How long a reload waits for an absent store before the engine stops (a restart resumes from the snapshots). */
const RELOAD_PATIENCE_MS = 30_000;

/** Images of evicted zones read back for one batch, by zone id (each taken out as its worker's part is queued). */
export type Reload = Map<string, ReadBack>;

/** A zone's image as read, and under which partition and generation: it is stale once either changed. */
interface ReadBack {
  image: Uint8Array;
  partition: number;
  generation: number;
}

export interface TierStats {
  /** Zones held only in the store now. */
  evicted: number;
  /** Zones the workers set aside so far. */
  evictions: number;
  /** Zones read back from the store so far. */
  reloads: number;
  /** Partitions recovered again because the store's snapshot of them was not this process's (another process, or a store that lost it). */
  partitionsLost: number;
}

/**
 * Tiering (`state.maxZonesInMemory`): zones beyond each worker's share live
 * only in the store, and come back on their next reading, exactly as they
 * were.
 *
 * The coordinator knows which zones are evicted, because it must reload a
 * zone before its worker sees the reading. Eviction is therefore a
 * handshake: a worker sets zones aside (only zones whose latest export was
 * saved), the coordinator records them and queues their release behind it,
 * and any reading dispatched before the record brings its zone back from
 * the set-aside (the worker answers which at the release). A reload is
 * queued ahead of the reading that needs it, and keeps whatever the worker
 * holds: a false "evicted" costs a read, never state.
 */
export class ZoneTier {
  readonly stats: TierStats = { evicted: 0, evictions: 0, reloads: 0, partitionsLost: 0 };
  /** Zones held only in the store: zone id → the partition its image is stored under. */
  private readonly evicted = new Map<string, number>();
  private readonly perPartition = new Map<number, number>();
  /** Bumped whenever the workers drop a partition: an eviction answered after that is stale. */
  private readonly generations = new Map<number, number>();
  /** Rounds run one after another: a zone is set aside and released by one round before the next looks at it. */
  private rounds: Promise<void> = Promise.resolve();

  constructor(
    private readonly shards: Shards,
    private readonly store: StateStore,
    /** Zones each worker keeps in memory at most after a round. */
    private readonly keepPerWorker: number,
    private readonly parts: {
      /** A failure that must stop the engine (a worker died). */
      fail: (error: unknown) => void;
      /** Whether the store's snapshot of a partition at this offset is this process's own (checkpoints). */
      ownSnapshot: (partition: number, offset: number | null) => boolean;
      /** Gives a partition up and recovers it again (its outputs in flight are dropped, as when a commit loses it). */
      lose: (partition: number) => void;
      /** Default RELOAD_PATIENCE_MS (tests shorten it). */
      reloadPatienceMs?: number | undefined;
      /** A worker's zone count after an eviction (the run's stats, which the intake's pressure reads). */
      zonesHeld?: ((shard: number, zones: number) => void) | undefined;
    },
  ) {}

  get size(): number {
    return this.evicted.size;
  }

  /** Whether the zone lives only in the store now (evicted, not yet read back). */
  isEvicted(zoneId: string): boolean {
    return this.evicted.has(zoneId);
  }

  /**
   * What the intake should do about the zones in memory: new zones cannot
   * be evicted before a snapshot saves them, and a backlog of new zones
   * outruns the snapshot interval (a first start over a million zones held
   * 327,000 with a limit of 50,000 and 5 s snapshots). Past 1.5× the limit a
   * snapshot (and its eviction) is due now; past 2× the intake waits for it.
   */
  pressure(zonesInMemory: number): 'snapshot' | 'wait' | undefined {
    const limit = this.keepPerWorker * this.shards.count;
    if (zonesInMemory > 2 * limit) return 'wait';
    return zonesInMemory > 1.5 * limit ? 'snapshot' : undefined;
  }

  /** How many zones of the partition live only in the store (while any do, a whole rewrite must keep the stored zones). */
  holds(partition: number): number {
    return this.perPartition.get(partition) ?? 0;
  }

  /**
   * Asks every worker to set aside its least recently used zones beyond its
   * share, among the zones of `partitions` that `savedCuts` say are saved.
   * Resolves once the round, release included, is over.
   */
  evict(partitions: readonly number[], savedCuts: readonly number[]): Promise<void> {
    if (partitions.length === 0) return this.rounds;
    const task = { kind: 'evict' as const, partitions: [...partitions], savedCuts: [...savedCuts], keep: this.keepPerWorker };
    const round = this.rounds.then(() => {
      const generations = new Map(partitions.map((partition) => [partition, this.generation(partition)]));
      return Promise.all(
        this.shards.runners.map((_, shard) => this.shards.run<EvictedResult>(shard, task).then((result) => this.setAside(shard, result, generations))),
      ).then(() => {});
    });
    this.rounds = round.catch((error: unknown) => this.parts.fail(error));
    return this.rounds;
  }

  /** The workers dropped these partitions (revoked, or recovered again): their evicted zones are not this process's now. */
  forget(partitions: readonly number[]): void {
    const gone = new Set(partitions);
    for (const partition of gone) this.generations.set(partition, this.generation(partition) + 1);
    for (const [zoneId, partition] of this.evicted) if (gone.has(partition)) this.remove(zoneId);
  }

  /**
   * The partition's zones kept in the store are not this process's any more
   * (another process saved the partition: a rebalance this one has not heard
   * of; or the store lost it): give the partition up and recover it again,
   * from the store or, if it has nothing, from the oldest retained readings.
   */
  lose(partition: number, why: string): void {
    log.warn({ partition, evicted: this.holds(partition) }, `${why}, and some of its zones were kept only there: recovering the partition again`);
    this.stats.partitionsLost++;
    this.forget([partition]);
    this.parts.lose(partition);
  }

  /** Whether some zone of `zoneIds` is evicted and not yet read into `reload`. Synchronous: the caller queues right after a false. */
  uncovered(zoneIds: readonly string[], reload: Reload): boolean {
    if (this.evicted.size === 0) return false;
    for (const zoneId of zoneIds) if (this.evicted.has(zoneId) && !this.current(zoneId, reload.get(zoneId))) return true;
    return false;
  }

  /**
   * Reads the evicted zones of `zoneIds` that `reload` lacks (or holds stale)
   * into it. A partition whose snapshot in the store is not this process's
   * any more is given up (tier.lose): its zones are no longer evicted here.
   * Zones may be evicted while it waits: ask uncovered() again before
   * queuing. Waits for the store through short outages; past the reload
   * patience it throws.
   */
  async extend(zoneIds: readonly string[], reload: Reload): Promise<Reload> {
    const byPartition = new Map<number, string[]>();
    for (const zoneId of new Set(zoneIds)) {
      const partition = this.evicted.get(zoneId);
      if (partition === undefined || this.current(zoneId, reload.get(zoneId))) continue;
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), zoneId]);
    }
    for (const [partition, wanted] of byPartition) {
      const generation = this.generation(partition);
      // The offset is read after the images (sent together, they run in order on the partition's connection): another
      // process's save before the images were read shows in it; one after did not change what was read.
      const [images, offset] = await this.patiently(() =>
        Promise.all([this.store.fetch(partition, wanted, { offset: 0, converted: false }), this.store.offsetOf(partition)]),
      );
      if (generation !== this.generation(partition)) continue;
      if (!this.parts.ownSnapshot(partition, offset)) {
        this.lose(partition, 'its snapshot in the store is not the one this process last saved');
        continue;
      }
      wanted.forEach((zoneId, k) => {
        const image = images[k];
        // Evicted only once saved, and a partition holding evicted zones is never rewritten without them.
        if (image === null || image === undefined)
          throw new StateError(`zone ${zoneId} was evicted to the store, but partition ${partition}'s snapshot does not hold it`);
        reload.set(zoneId, { image, partition, generation });
      });
    }
    return reload;
  }

  /**
   * The restore task, for their shard, of the zones of `zoneIds` that the
   * reload read and that are still evicted as they were read (undefined:
   * none); they count as in memory from here on. An image gone stale (its
   * zone reclaimed, or its partition dropped since) is not used: the worker's
   * memory, or the drop, is what an engine without tiering would have.
   */
  queued(shard: number, reload: Reload, zoneIds: readonly string[]): RestoreTask | undefined {
    const read: string[] = [];
    const images: Uint8Array[] = [];
    for (const zoneId of new Set(zoneIds)) {
      const entry = reload.get(zoneId);
      if (entry !== undefined && this.current(zoneId, entry)) {
        read.push(zoneId);
        images.push(entry.image);
      }
      reload.delete(zoneId);
    }
    if (read.length === 0) return undefined;
    const [restore] = restoreTasks(this.shards.count, () => shard, read, images);
    for (const zoneId of read) this.remove(zoneId);
    this.stats.reloads += read.length;
    return restore === undefined ? undefined : { ...restore.task, ifAbsent: true };
  }

  /** Retries a store read while the store is away (a Redis restart), up to the reload patience. */
  private async patiently<T>(read: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + (this.parts.reloadPatienceMs ?? RELOAD_PATIENCE_MS);
    let said = false;
    for (let wait = 100; ; wait = Math.min(2 * wait, 2_000)) {
      try {
        // A Redis that hangs (paused, unreachable) never fails a read (ioredis queues it): the deadline must.
        const value = await withDeadline(read(), deadline - performance.now());
        if (said) log.info('evicted zones are read from the store again');
        return value;
      } catch (error) {
        if (performance.now() + wait > deadline) {
          throw new StateError('cannot read evicted zones back from the store: stopping (a restart resumes from the snapshots)', { cause: error });
        }
        if (!said) log.warn({ err: error }, 'cannot read evicted zones back from the store: intake waits and retries');
        said = true;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Records what a worker set aside and queues its release; resolves once the release is answered. */
  private setAside(shard: number, result: EvictedResult, generations: ReadonlyMap<number, number>): Promise<void> {
    this.parts.zonesHeld?.(shard, result.zones);
    const zoneIds: string[] = [];
    result.zoneIds.forEach((zoneId, i) => {
      const partition = result.partitions[i] as number;
      // Dropped since the round began: the drop took the set-aside zones with it.
      if (this.generation(partition) !== generations.get(partition)) return;
      this.add(zoneId, partition);
      zoneIds.push(zoneId);
    });
    this.stats.evictions += zoneIds.length;
    if (zoneIds.length === 0) return Promise.resolve();
    // Queued at once: a reading dispatched from now on finds its zone evicted and is preceded by its reload. Awaited by
    // the round, so that nothing is left in flight at a worker when the engine stops after its last snapshot.
    return this.shards.run<ReleasedResult>(shard, { kind: 'release', zoneIds }).then(({ reclaimed }) => {
      for (const zoneId of reclaimed) this.remove(zoneId);
    });
  }

  /** Whether a read-back image is still the zone's: evicted under the partition and generation it was read under. */
  private current(zoneId: string, entry: ReadBack | undefined): boolean {
    return entry !== undefined && this.evicted.get(zoneId) === entry.partition && this.generation(entry.partition) === entry.generation;
  }

  private add(zoneId: string, partition: number): void {
    // A zone evicted again under another partition (its records moved) is counted under that one only.
    this.remove(zoneId);
    this.evicted.set(zoneId, partition);
    this.perPartition.set(partition, this.holds(partition) + 1);
    this.stats.evicted = this.evicted.size;
  }

  private remove(zoneId: string): void {
    const partition = this.evicted.get(zoneId);
    if (partition === undefined) return;
    this.evicted.delete(zoneId);
    const left = this.holds(partition) - 1;
    if (left > 0) this.perPartition.set(partition, left);
    else this.perPartition.delete(partition);
    this.stats.evicted = this.evicted.size;
  }

  private generation(partition: number): number {
    return this.generations.get(partition) ?? 0;
  }
}

/** `promise`, or a rejection once `ms` have passed without it settling. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the store for ${Math.round(ms)} ms`)), Math.max(0, ms));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
