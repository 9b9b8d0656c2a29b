/** An engine run in the bench's own process (runEngine), stopped gracefully, with its record count watched. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KlaxonConfig } from '../src/config/types.js';
import { type RunningEngine, runEngine } from '../src/coordinator/engine.js';
import type { RunSummary } from '../src/coordinator/stats.js';

/** A count that has not moved for this long means the engine is stuck. */
const STALL_MS = 120_000;

export interface Engine {
  label: string;
  startedAt: number;
  /** When the pipeline existed: sinks, Redis and the consumer connected, the group joined. */
  pipelineAt: number | undefined;
  pipeline: RunningEngine | undefined;
  failure: unknown;
  stop(): Promise<RunSummary>;
}

/** The engine in-process; stop() is graceful (drain, final snapshot) and resolves with the run's totals. */
export function startEngine(label: string, config: KlaxonConfig): Engine {
  const engine: Engine = { label, startedAt: performance.now(), pipelineAt: undefined, pipeline: undefined, failure: undefined, stop: async () => run };
  const run = runEngine(config, {
    onStart: (pipeline) => {
      engine.pipeline = pipeline;
      engine.pipelineAt = performance.now();
    },
  });
  run.catch((error: unknown) => (engine.failure = error));
  engine.stop = () => {
    engine.pipeline?.stop();
    return run;
  };
  return engine;
}

/** Polls a record counter every 10 ms until it reaches `total`: when it first moved (and to what) and when it got there. */
export async function waitForCount(label: string, engine: Engine, count: () => number, total: number, log: (line: string) => void = () => {}) {
  let first: { at: number; count: number } | undefined;
  let [lastSeen, lastMove, printedAt] = [0, performance.now(), performance.now()];
  for (;;) {
    const [now, seen] = [performance.now(), count()];
    if (seen > 0) first ??= { at: now, count: seen };
    if (first !== undefined && seen >= total) return { firstAt: first.at, firstCount: first.count, lastAt: now };
    if (engine.failure !== undefined) throw engine.failure;
    if (seen > lastSeen) [lastSeen, lastMove] = [seen, now];
    if (now - lastMove > STALL_MS) throw new Error(`${label}: stuck at ${seen} of ${total} records`);
    if (now - printedAt >= 5_000) {
      printedAt = now;
      log(`${label}: ${seen.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
    }
    await sleep(10);
  }
}
