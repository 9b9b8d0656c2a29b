/** Piscina worker entry: one shard's zones live in this thread. All logic is in src/engine/. */
import { workerData } from 'node:worker_threads';
import { shardTaskHandler } from '../src/engine/shard-tasks.js';
import type { ShardSetup } from '../src/protocol/messages.js';

export default shardTaskHandler(workerData as ShardSetup);
