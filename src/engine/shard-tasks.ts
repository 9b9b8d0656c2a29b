import { assertNever, type BacktestSetup, type ShardResult, type ShardSetup, type ShardTask, unpackImages } from '../protocol/messages.js';
import { BacktestShard } from './backtest-shard.js';
import { Shard } from './shard.js';

/**
 * One shard's task handler: every message a worker can get, switched
 * exhaustively. The worker thread exports it; in-process shards (tests,
 * tools) call it directly. A backtest's worker (setup.backtest) runs
 * backtest tasks instead of the engine's.
 */
/** Tasks that change zones other than by a reading: restore, drop, evict, release, rules. */
const CHANGES_ZONES: ReadonlySet<ShardTask['kind']> = new Set(['restore', 'drop', 'evict', 'release', 'rules']);

export function shardTaskHandler(setup: ShardSetup): (task: ShardTask) => ShardResult {
  if (setup.backtest !== undefined) return backtestTaskHandler(setup, setup.backtest);
  const shard = new Shard(setup);
  return (task) => {
    // A cut still being exported is finished before zones change otherwise than by a reading (see PendingExport).
    if (CHANGES_ZONES.has(task.kind)) shard.settleExport();
    switch (task.kind) {
      case 'process':
        return shard.process(task);
      case 'stats': {
        const memory = process.memoryUsage();
        return {
          kind: 'stats',
          zones: shard.zones.size,
          accepted: shard.acceptedTotal,
          bytesPerZone: shard.bytesPerZone,
          heapUsed: memory.heapUsed,
          arrayBuffers: memory.arrayBuffers,
          incarnation: shard.incarnation,
        };
      }
      case 'snapshot':
        if (task.sliceMs === undefined) return shard.snapshot(task.fullPartitions, task.cut);
        shard.beginSnapshot(task.fullPartitions, task.cut);
        return shard.continueSnapshot(task.sliceMs);
      case 'snapshotSlice':
        return shard.continueSnapshot(task.sliceMs);
      case 'restore':
        shard.restore(task.zoneIds, unpackImages(task.images, task.ends), task.ifAbsent);
        return { kind: 'done', zones: shard.zones.size };
      case 'evict':
        return shard.evict(task.partitions, task.savedCuts, task.keep);
      case 'release':
        return shard.release(task.zoneIds);
      case 'drop':
        shard.drop(task.partitions);
        return { kind: 'done', zones: shard.zones.size };
      case 'zoneHistory':
        return { kind: 'zoneHistory', zone: shard.zoneHistory(task.zoneId, task.limit) };
      case 'hotZones':
        return shard.hotZones(task.limit);
      case 'rules':
        return shard.addVersion(task.version);
      case 'firing':
        return { kind: 'firing', firing: shard.firing(task.partitions) };
      case 'backtest':
        throw new Error('a backtest task reached an engine worker (it was started without a backtest setup)');
      default:
        return assertNever(task);
    }
  };
}

function backtestTaskHandler(setup: ShardSetup, backtest: BacktestSetup): (task: ShardTask) => ShardResult {
  const shard = new BacktestShard(setup, backtest);
  return (task) => {
    if (task.kind !== 'backtest') throw new Error(`a backtest's worker runs backtest tasks only, not ${task.kind}`);
    return shard.process(task);
  };
}
