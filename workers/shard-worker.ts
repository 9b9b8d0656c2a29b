/** Piscina worker entry: one shard's zones live in this thread. All logic is in src/engine/shard.ts. */
import { workerData } from 'node:worker_threads';
import { Shard } from '../src/engine/shard.js';
import { assertNever, type ShardResult, type ShardSetup, type ShardTask } from '../src/protocol/messages.js';

const shard = new Shard(workerData as ShardSetup);

export default function handle(task: ShardTask): ShardResult {
  switch (task.kind) {
    case 'process':
      return shard.process(task);
    case 'stats':
      return {
        kind: 'stats',
        zones: shard.zones.size,
        accepted: shard.acceptedTotal,
        bytesPerZone: shard.bytesPerZone,
        heapUsed: process.memoryUsage().heapUsed,
        incarnation: shard.incarnation,
      };
    case 'snapshot':
      return shard.snapshot(task.fullPartitions);
    case 'restore':
      shard.restore(task.zoneIds, task.images);
      return { kind: 'done', zones: shard.zones.size };
    case 'drop':
      shard.drop(task.partitions);
      return { kind: 'done', zones: shard.zones.size };
    case 'zoneHistory':
      return { kind: 'zoneHistory', zone: shard.zoneHistory(task.zoneId, task.limit) };
    case 'hotZones':
      return shard.hotZones(task.limit);
    default:
      return assertNever(task);
  }
}
