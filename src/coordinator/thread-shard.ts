import { Piscina } from 'piscina';
import { WorkerError } from '../errors.js';
import type { ShardResult, ShardSetup, ShardTask } from '../protocol/messages.js';
import { type ShardRunner, TaskQueue } from './shard-runner.js';

const WORKER_FILE = new URL('../../workers/shard-worker.js', import.meta.url).href;

/**
 * Tasks piscina may hand the worker at once: more than are ever queued
 * (maxQueuePerWorker process tasks, and the few a cut, a recovery or the
 * metrics add), so that it never holds one back in its own queue.
 */
const WORKER_CAPACITY = 1_024;

/**
 * A shard in its own thread: a single-thread piscina pool, so the zones the
 * ring gives the shard live in exactly one thread. Each task is handed to
 * the worker as it is submitted: the worker's port delivers them in that
 * order and the task function is synchronous, so they run in submission
 * order, and the worker goes from one to the next without waiting for this
 * thread. (Handed over one at a time, each only once the previous result was
 * back here, the workers sat idle 75% of the time at 50k readings/s while
 * the read loop waited for room at them 95% of the time: every task waited
 * for this thread's turn on a busy machine; measured.) Piscina's own queue
 * does not promise that order (measured, it reorders a task it could not
 * hand over): WORKER_CAPACITY keeps tasks out of it, except at start-up,
 * before the worker is ready, when it hands them over in order.
 */
export class ThreadShard implements ShardRunner {
  private readonly pool: Piscina;
  private readonly queue: TaskQueue;
  private incarnation: string | undefined;
  /** Tasks handed to the worker and not yet answered, and since when it has held one. */
  private atWorker = 0;
  private busySince = 0;
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
      concurrentTasksPerWorker: WORKER_CAPACITY,
      idleTimeout: Number.POSITIVE_INFINITY,
      maxQueue: Number.POSITIVE_INFINITY,
    });
  }

  get queued(): number {
    return this.queue.size;
  }

  room(): Promise<void> {
    return this.queue.room();
  }

  run<R extends ShardResult>(task: ShardTask, transfer?: ArrayBuffer[]): Promise<R> {
    // Busy: while the worker holds at least one task.
    if (this.atWorker++ === 0) this.busySince = performance.now();
    const running = this.pool.run(task, transfer ? { transferList: transfer } : {}).then(
      (result: R) => {
        if (result.kind === 'processed') this.checkIncarnation(result.incarnation);
        return result;
      },
      (error: unknown) => {
        throw new WorkerError(`worker ${this.shard} failed: its zones' state is gone`, { cause: error });
      },
    );
    return this.queue.track(
      running.finally(() => {
        if (--this.atWorker === 0) this.busyMs += performance.now() - this.busySince;
      }),
    );
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
