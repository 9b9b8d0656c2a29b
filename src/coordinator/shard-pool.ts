import { Piscina } from 'piscina';
import { WorkerError } from '../errors.js';
import type { ProcessResult, ShardResult, ShardSetup, ShardTask } from '../protocol/messages.js';

const WORKER_FILE = new URL('../../workers/shard-worker.js', import.meta.url).href;

/**
 * One single-thread piscina pool per shard: the zones the ring gives a shard
 * live in exactly one thread. Tasks are chained here and handed to piscina one
 * at a time, so they run in submission order and each zone sees its readings
 * in order (piscina's own queue does not promise that order: measured, it
 * reorders). The coordinator waits for room() before submitting: at most
 * `maxQueue` tasks are ever waiting here.
 */
export class ShardPool {
  private readonly pool: Piscina;
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private incarnation: string | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /** Milliseconds spent running tasks (not waiting in the chain). */
  busyMs = 0;

  constructor(
    readonly shard: number,
    setup: ShardSetup,
    private readonly maxQueue: number,
  ) {
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
    return this.inFlight;
  }

  /** Resolves when another task may be submitted. */
  room(): Promise<void> {
    if (this.inFlight < this.maxQueue) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async run<R extends ShardResult>(task: ShardTask, transfer?: ArrayBuffer[]): Promise<R> {
    this.inFlight++;
    const previous = this.tail;
    const running = previous.then(async () => {
      const started = performance.now();
      try {
        return await this.pool.run(task, transfer ? { transferList: transfer } : {});
      } finally {
        this.busyMs += performance.now() - started;
      }
    });
    this.tail = running.catch(() => {});
    try {
      const result = (await running) as R;
      if (result.kind === 'processed') this.checkIncarnation(result);
      return result;
    } catch (error) {
      if (error instanceof WorkerError) throw error;
      throw new WorkerError(`worker ${this.shard} failed: its zones' state is gone`, { cause: error });
    } finally {
      this.inFlight--;
      this.waiters.shift()?.();
    }
  }

  // A replaced thread starts empty; carrying on would silently forget its zones.
  private checkIncarnation(result: ProcessResult): void {
    if (this.incarnation === undefined) this.incarnation = result.incarnation;
    else if (this.incarnation !== result.incarnation) {
      throw new WorkerError(`worker ${this.shard} was restarted and lost its zones' state`);
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
