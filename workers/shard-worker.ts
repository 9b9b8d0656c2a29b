/** Piscina worker entry: one shard's zones live in this thread. All logic is in src/engine/. */
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { shardTaskHandler } from '../src/engine/shard-tasks.js';
import { type ShardSetup, type ShardTask, transferablesOf } from '../src/protocol/messages.js';

const handle = shardTaskHandler(workerData as ShardSetup);

export default (task: ShardTask) => {
  const result = handle(task);
  const transfer = transferablesOf(result);
  return transfer.length === 0 ? result : move({ [transferableSymbol]: transfer, [valueSymbol]: result });
};
