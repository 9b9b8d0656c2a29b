import type { KlaxonConfig } from '../config/types.js';
import type { Pipeline } from '../coordinator/pipeline.js';
import type { SnapshotStats } from '../coordinator/snapshots.js';
import type { RunStats } from '../coordinator/stats.js';
import type { ShardResult, ShardTask } from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';

/**
 * Everything observability reads from a running engine, in one place, so
 * metrics, health and the dashboard depend on this narrow surface rather than
 * on the Pipeline's internals.
 */
export interface EngineView {
  readonly stats: RunStats;
  readonly workers: number;
  snapshotStats(): SnapshotStats | undefined;
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
}

export function engineView(pipeline: Pipeline, config: Pick<KlaxonConfig, 'engine'>): EngineView {
  const ring = new HashRing(config.engine.workers, config.engine.virtualNodes);
  return {
    stats: pipeline.stats,
    workers: config.engine.workers,
    snapshotStats: () => pipeline.snapshots?.stats,
    lag: () => pipeline.lag(),
    lagByPartition: () => pipeline.lagByPartition(),
    queueDepths: () => pipeline.queueDepths(),
    busyMs: () => pipeline.busyMs(),
    ask: (shard, task) => pipeline.query(shard, task),
    ownerOf: (zoneId) => ring.ownerOf(zoneId),
    ready: () => pipeline.ready(),
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
