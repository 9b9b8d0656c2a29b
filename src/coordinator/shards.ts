import type { ShardResult, ShardSetup, ShardTask } from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';
import { LocalShard } from './local-shard.js';
import type { ShardRunner } from './shard-runner.js';
import { ThreadShard } from './thread-shard.js';

export interface ShardsOptions {
  workers: number;
  virtualNodes: number;
  maxQueuePerWorker: number;
  rules: ShardSetup['rules'];
  /** A backtest's workers (`klaxon backtest`): the baseline and the time range. */
  backtest?: ShardSetup['backtest'];
}

/**
 * The engine's shards and the consistent-hash ring that gives each zone to
 * exactly one of them. Threads in production; in-process shards run the same
 * task handler on this thread, for tests that must run in milliseconds and for
 * tools that want no threads.
 */
export class Shards {
  readonly ring: HashRing;

  private constructor(
    readonly runners: readonly ShardRunner[],
    virtualNodes: number,
  ) {
    this.ring = new HashRing(runners.length, virtualNodes);
  }

  static threads(options: ShardsOptions): Shards {
    const runners = Array.from({ length: options.workers }, (_, shard) => new ThreadShard(shard, setupOf(options, shard), options.maxQueuePerWorker));
    return new Shards(runners, options.virtualNodes);
  }

  /** Shards on this thread. `delayMs(shard)` makes a shard slow (tests of ordering under uneven workers). */
  static inProcess(options: ShardsOptions, delayMs: (shard: number) => number = () => 0): Shards {
    const runners = Array.from(
      { length: options.workers },
      (_, shard) => new LocalShard(shard, setupOf(options, shard), options.maxQueuePerWorker, () => delayMs(shard)),
    );
    return new Shards(runners, options.virtualNodes);
  }

  get count(): number {
    return this.runners.length;
  }

  run<R extends ShardResult>(shard: number, task: ShardTask, transfer?: ArrayBuffer[]): Promise<R> {
    return this.runner(shard).run<R>(task, transfer);
  }

  /** The same task at every shard, queued behind what each already has. */
  broadcast<R extends ShardResult>(task: (shard: number) => ShardTask): Promise<R[]> {
    return Promise.all(this.runners.map((runner, shard) => runner.run<R>(task(shard))));
  }

  runner(shard: number): ShardRunner {
    const runner = this.runners[shard];
    if (runner === undefined) throw new RangeError(`no shard ${shard}`);
    return runner;
  }

  queueDepths(): number[] {
    return this.runners.map((runner) => runner.queued);
  }

  busyMs(): number[] {
    return this.runners.map((runner) => runner.busyMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.close()));
  }
}

function setupOf(options: ShardsOptions, shard: number): ShardSetup {
  const setup: ShardSetup = { shard, shards: options.workers, virtualNodes: options.virtualNodes, rules: options.rules };
  if (options.backtest !== undefined) setup.backtest = options.backtest;
  return setup;
}
