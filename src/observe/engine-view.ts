import type { SnapshotStats } from '../coordinator/checkpoints.js';
import type { RunningEngine } from '../coordinator/engine.js';
import type { RunStats } from '../coordinator/stats.js';
import type { TierStats } from '../coordinator/tiering.js';
import type { DeliveryStats } from '../delivery/stats.js';
import type { ShardResult, ShardTask } from '../protocol/messages.js';

/** The rule set as operators see it: the version in force for the stream, the latest known, late and refused versions. */
export interface RulesView {
  /** The version in force at the newest reading ts evaluated (undefined before the first reading). */
  inForce: number | undefined;
  latest: number;
  late: number;
  refused: number;
  /** The shadow rules of the version in force (the latest before the first reading), and the live rule each shadows, if it says. */
  shadows: Array<{ rule: string; shadows: string | null }>;
}

/**
 * Everything observability reads from a running engine, in one place, so
 * metrics, health and the dashboard depend on this narrow surface rather than
 * on the coordinator's parts.
 */
export interface EngineView {
  readonly stats: RunStats;
  readonly workers: number;
  snapshotStats(): SnapshotStats | undefined;
  /** Tiering's counters (undefined: no state.maxZonesInMemory). */
  tierStats(): TierStats | undefined;
  /** Whether tiering holds the zone only in the state store now (its workers do not have it). */
  zoneEvicted(zoneId: string): boolean;
  /** Records waiting behind the source's position (undefined: the source cannot tell). */
  lag(): number | undefined;
  /** Consumer lag per source partition, where the source tracks it. */
  lagByPartition(): ReadonlyMap<number, number> | undefined;
  queueDepths(): number[];
  /** Milliseconds each worker has spent running tasks, if the pipeline reports it. */
  busyMs(): number[] | undefined;
  /** Runs a read-only task on one worker, queued behind the batches it already has. */
  ask<R extends ShardResult>(shard: number, task: ShardTask): Promise<R>;
  /** The worker that owns a zone (the same ring the router uses). */
  ownerOf(zoneId: string): number;
  /** Source partitions assigned and their state restored (always true for unpartitioned sources). */
  ready(): boolean;
  rules(): RulesView;
  /** Each delivery destination's counters (none without delivery sinks). */
  deliveries(): readonly DeliveryStats[];
}

export function engineView(engine: RunningEngine): EngineView {
  const { stats, shards, checkpoints, source } = engine;
  return {
    stats,
    workers: shards.count,
    snapshotStats: () => (engine.config.state.type === 'redis' ? checkpoints.stats : undefined),
    tierStats: () => engine.tier?.stats,
    zoneEvicted: (zoneId) => engine.tier?.isEvicted(zoneId) ?? false,
    lag: () => source.lag(),
    lagByPartition: () => source.lagByPartition?.(),
    queueDepths: () => shards.queueDepths(),
    busyMs: () => shards.busyMs(),
    ask: (shard, task) => shards.run(shard, task),
    ownerOf: (zoneId) => shards.ring.ownerOf(zoneId),
    ready: () => engine.ready(),
    rules: () => {
      const inForce = stats.maxTs < 0 ? undefined : engine.rules.at(stats.maxTs);
      const shown = inForce ?? engine.rules.versions.at(-1);
      return {
        inForce: inForce?.version,
        latest: engine.rules.versions.at(-1)?.version ?? 0,
        late: engine.rules.late,
        refused: engine.rules.refused,
        shadows: (shown?.rules ?? []).filter((rule) => rule.shadow).map((rule) => ({ rule: rule.id, shadows: rule.shadows ?? null })),
      };
    },
    deliveries: () => engine.deliveries?.stats() ?? [],
  };
}

/** Resolves with `promise`, or with undefined after `ms` (a scrape must not hang on a busy worker). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
