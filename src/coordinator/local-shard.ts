import { shardTaskHandler } from '../engine/shard-tasks.js';
import { WorkerError } from '../errors.js';
import type { ShardResult, ShardSetup, ShardTask } from '../protocol/messages.js';
import { type ShardRunner, TaskQueue } from './shard-runner.js';

/** A shard on the calling thread: the worker's task handler behind the same ordered, bounded queue. */
export class LocalShard implements ShardRunner {
  private readonly handle: (task: ShardTask) => ShardResult;
  private readonly queue: TaskQueue;
  busyMs = 0;

  constructor(
    private readonly shard: number,
    setup: ShardSetup,
    maxQueue: number,
    private readonly delayMs: () => number,
  ) {
    this.handle = shardTaskHandler(setup);
    this.queue = new TaskQueue(maxQueue);
  }

  get queued(): number {
    return this.queue.size;
  }

  room(): Promise<void> {
    return this.queue.room();
  }

  run<R extends ShardResult>(task: ShardTask): Promise<R> {
    return this.queue.push(async () => {
      const delay = this.delayMs();
      // Always yield, as a thread would: results never arrive in the same tick as the submission.
      await new Promise((resolve) => (delay > 0 ? setTimeout(resolve, delay) : setImmediate(resolve)));
      const started = performance.now();
      try {
        return this.handle(task) as R;
      } catch (error) {
        throw new WorkerError(`worker ${this.shard} failed: its zones' state is gone`, { cause: error });
      } finally {
        this.busyMs += performance.now() - started;
      }
    });
  }

  async close(): Promise<void> {}
}
