import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { KlaxonConfig } from '../../src/config/types.js';
import { type EngineHooks, type RunningEngine, runEngine } from '../../src/coordinator/engine.js';
import type { RunSummary } from '../../src/coordinator/stats.js';
import { BROKERS, freshGroup, freshTopic, waitFor } from './kafka.js';

export const REDIS_URL = process.env.KLAXON_REDIS_URL ?? 'redis://127.0.0.1:16379';

export interface DeliveryJob {
  readings: string;
  alerts: string;
  deadLetters: string;
  groupId: string;
  /** A Redis prefix of the job's own, for tests with state. */
  prefix: string;
}

/** Fresh topics (3 partitions), group and Redis prefix. */
export async function deliveryJob(t: TestContext): Promise<DeliveryJob> {
  return {
    readings: await freshTopic(t, 'readings', 3),
    alerts: await freshTopic(t, 'alerts', 3),
    deadLetters: await freshTopic(t, 'dead', 1),
    groupId: freshGroup(),
    prefix: `test-${randomUUID().slice(0, 8)}`,
  };
}

/** Kafka in, the alerts topic as the record sink, and the given deliveries; one threshold rule (above 89) unless told. */
export function deliveryConfig(job: DeliveryJob, deliveries: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): KlaxonConfig {
  return parseConfig(
    {
      engine: { workers: 2, batchSize: 500 },
      source: { type: 'kafka', brokers: BROKERS, topic: job.readings, groupId: job.groupId, partitions: 3, commitInterval: '200ms' },
      sinks: [{ type: 'kafka', brokers: BROKERS, topic: job.alerts, partitions: 3, linger: '5ms' }, ...deliveries],
      deadLetter: { type: 'kafka', brokers: BROKERS, topic: job.deadLetters, partitions: 1 },
      rules: [{ id: 'too-hot', type: 'threshold', above: 89 }],
      ...extra,
    },
    { baseDir: '/' },
  );
}

export interface StartedEngine {
  engine: RunningEngine;
  /** Graceful stop (drain, commit, snapshot, deliveries drained); resolves with the totals. */
  stop(): Promise<RunSummary>;
}

/** Runs the engine in this process until stop(); resolves once its partitions are assigned and recovered. */
export async function startEngine(t: TestContext, config: KlaxonConfig, hooks: EngineHooks = {}): Promise<StartedEngine> {
  let engine: RunningEngine | undefined;
  let failure: unknown;
  const run = runEngine(config, {
    ...hooks,
    onStart: (started) => {
      engine = started;
    },
  });
  run.catch((error: unknown) => {
    failure = error;
  });
  let stopped: Promise<RunSummary> | undefined;
  const stop = () => {
    engine?.stop();
    stopped ??= run;
    return stopped;
  };
  t.after(async () => {
    await stop().catch(() => {});
  });
  await waitFor(
    () => {
      if (failure !== undefined) throw failure;
      return engine?.checkpoints.ready() === true;
    },
    'the engine to be assigned its partitions',
    60_000,
  );
  return { engine: engine as RunningEngine, stop };
}

/** One reading's line, stamped now unless told. */
export function reading(zone: string, temperature: number, ts = Date.now()): string {
  return JSON.stringify({ zone_id: zone, device_id: 'd1', temperature, ts });
}
