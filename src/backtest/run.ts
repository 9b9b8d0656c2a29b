import type { RulesConfig } from '../config/types.js';
import { Router } from '../coordinator/router.js';
import { Shards } from '../coordinator/shards.js';
import type { SourceBatch } from '../io/types.js';
import type { BacktestResult, BacktestSetup, BacktestTask } from '../protocol/messages.js';
import type { Tally } from './tally.js';

/** A batch of readings and whether it only builds statistics (a Kafka backtest's warm-up offsets). */
export interface BacktestBatch {
  batch: SourceBatch;
  warmup: boolean;
}

/**
 * Where a backtest reads: a file, or a range of offsets of a topic. Batches
 * come in source order per partition; every reading of a zone must be in
 * one partition (per-zone order).
 */
export interface BacktestInput {
  /** For the report: the file, or the topic, its brokers and the offsets read. */
  readonly description: string;
  /** The next batch; null once the input is read. */
  next(): Promise<BacktestBatch | null>;
  close(): Promise<void>;
}

export interface BacktestEngine {
  workers: number;
  batchSize: number;
  maxQueuePerWorker: number;
  virtualNodes: number;
  /** Shards on this thread (tests) instead of worker threads. */
  inProcess?: boolean;
}

/**
 * Runs a backtest: every batch of `input` is routed by zone to the worker
 * that owns the zone, as the engine routes it, and evaluated there under the
 * candidate (`rules`) and the baseline (`setup.baseline`) over one set of
 * zone statistics; each result goes to `tally` as it comes back. No sink,
 * no state store, no consumer group of a deployment: nothing outside the
 * process changes. Resolves once every batch is back; `onBatch` may apply
 * backpressure (the tally's files).
 */
export async function runBacktest(
  input: BacktestInput,
  rules: RulesConfig,
  setup: BacktestSetup,
  engine: BacktestEngine,
  tally: Tally,
  onBatch: () => Promise<void> = async () => {},
): Promise<void> {
  const options = { workers: engine.workers, virtualNodes: engine.virtualNodes, maxQueuePerWorker: engine.maxQueuePerWorker, rules, backtest: setup };
  const shards = engine.inProcess ? Shards.inProcess(options) : Shards.threads(options);
  const running = new Set<Promise<void>>();
  let failure: unknown;
  try {
    const router = new Router(shards.ring, false);
    for (;;) {
      const next = await input.next();
      if (next === null) break;
      // Parts are queued in batch order at each worker, whose tasks run in that order: each zone's readings stay in order.
      for (const part of router.route(next.batch).parts) {
        const runner = shards.runner(part.shard);
        await runner.room();
        if (failure !== undefined) throw failure;
        const task: BacktestTask = { ...part.task, kind: 'backtest', warmup: next.warmup };
        const done = runner
          .run<BacktestResult>(task)
          .then((result) => tally.add(part.shard, part.count, result))
          .catch((error: unknown) => {
            failure ??= error;
          });
        running.add(done);
        done.finally(() => running.delete(done));
      }
      await onBatch();
      if (failure !== undefined) throw failure;
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
    tally.finish();
  } finally {
    await Promise.allSettled(running);
    await shards.close();
  }
}
