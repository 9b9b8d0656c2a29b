import { assertNever, type ShardResult, type ShardSetup, type ShardTask, unpackImages } from '../protocol/messages.js';
import { Shard } from './shard.js';

/**
 * One shard's task handler: every message a worker can get, switched
 * exhaustively. The worker thread exports it; in-process shards (tests,
 * tools) call it directly.
 */
export function shardTaskHandler(setup: ShardSetup): (task: ShardTask) => ShardResult {
  const shard = new Shard(setup);
  return (task) => {
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
        return shard.snapshot(task.fullPartitions);
      case 'restore':
        shard.restore(task.zoneIds, unpackImages(task.images, task.ends));
        return { kind: 'done', zones: shard.zones.size };
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
      default:
        return assertNever(task);
    }
  };
}
