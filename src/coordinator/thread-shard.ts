import { Piscina } from 'piscina';
import { WorkerError } from '../errors.js';
import type { ShardResult, ShardSetup, ShardTask } from '../protocol/messages.js';
import { type ShardRunner, TaskQueue } from './shard-runner.js';

const WORKER_FILE = new URL('../../workers/shard-worker.js', import.meta.url).href;

/**
 * A shard in its own thread: a single-thread piscina pool, so the zones the
 * ring gives the shard live in exactly one thread. Tasks are chained here and
 * handed to piscina one at a time, so they run in submission order (piscina's
 * own queue does not promise that order: measured, it reorders).
 */
export class ThreadShard implements ShardRunner {
  private readonly pool: Piscina;
  private readonly queue: TaskQueue;
  private incarnation: string | undefined;
  busyMs = 0;

  constructor(
    private readonly shard: number,
    setup: ShardSetup,
    maxQueue: number,
  ) {
    this.queue = new TaskQueue(maxQueue);
    this.pool = new Piscina({
      filename: WORKER_FILE,
      workerData: setup,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      maxQueue: 1,
    });
  }

  get queued(): number {
    return this.queue.size;
  }

  room(): Promise<void> {
    return this.queue.room();
  }

  run<R extends ShardResult>(task: ShardTask, transfer?: ArrayBuffer[]): Promise<R> {
    return this.queue.push(async () => {
      const started = performance.now();
      let result: R;
      try {
        result = (await this.pool.run(task, transfer ? { transferList: transfer } : {})) as R;
      } catch (error) {
        throw new WorkerError(`worker ${this.shard} failed: its zones' state is gone`, { cause: error });
      } finally {
        this.busyMs += performance.now() - started;
      }
      if (result.kind === 'processed') this.checkIncarnation(result.incarnation);
      return result;
    });
  }

  // A replaced thread starts empty; carrying on would silently forget its zones.
  private checkIncarnation(incarnation: string): void {
    this.incarnation ??= incarnation;
    if (this.incarnation !== incarnation) throw new WorkerError(`worker ${this.shard} was restarted and lost its zones' state`);
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
