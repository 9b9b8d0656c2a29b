import type { ShardResult, ShardTask } from '../protocol/messages.js';

/**
 * Runs one shard's tasks, strictly in submission order (so each zone sees
 * its readings in order). At most `maxQueue` tasks wait: callers await room()
 * before submitting a batch's part.
 */
export interface ShardRunner {
  /** Tasks waiting or running. */
  readonly queued: number;
  /** Milliseconds spent running tasks (not waiting). */
  readonly busyMs: number;
  room(): Promise<void>;
  run<R extends ShardResult>(task: ShardTask, transfer?: ArrayBuffer[]): Promise<R>;
  close(): Promise<void>;
}

/**
 * Runs pushed jobs one at a time in push order and counts them until they
 * settle; room() resolves when fewer than `maxQueue` are counted.
 */
export class TaskQueue {
  private count = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly maxQueue: number) {}

  get size(): number {
    return this.count;
  }

  room(): Promise<void> {
    if (this.count < this.maxQueue) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  push<T>(job: () => Promise<T>): Promise<T> {
    const running = this.tail.then(job);
    this.tail = running.catch(() => {});
    return this.track(running);
  }

  /** Counts a job started elsewhere (in push order) until it settles. */
  track<T>(running: Promise<T>): Promise<T> {
    this.count++;
    return running.finally(() => {
      this.count--;
      this.waiters.shift()?.();
    });
  }
}
