import type { TestContext } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { RunningEngine } from '../../src/coordinator/engine.js';
import { runEngine } from '../../src/coordinator/engine.js';
import type { RunSummary } from '../../src/coordinator/stats.js';
import { BROKERS, waitFor } from './kafka.js';

export interface KafkaJob {
  readings: string;
  alerts: string;
  deadLetters: string;
  groupId: string;
  workers: number;
  rules: Record<string, unknown>;
  state?: Record<string, unknown>;
  /** More source settings (e.g. requireZoneKey). */
  source?: Record<string, unknown>;
  /** A topic for the alerts of shadow rules. */
  shadow?: string;
  /** The rules topic (default: `<readings>.rules`). */
  rulesTopic?: string;
}

/** The config of a Kafka → engine → Kafka job on the test broker. */
export function kafkaConfig(job: KafkaJob) {
  return parseConfig(
    {
      engine: { workers: job.workers, batchSize: 500 },
      source: {
        type: 'kafka',
        brokers: BROKERS,
        topic: job.readings,
        groupId: job.groupId,
        partitions: 6,
        commitInterval: '200ms',
        ...(job.rulesTopic === undefined ? {} : { rulesTopic: job.rulesTopic }),
        ...job.source,
      },
      sink: { type: 'kafka', brokers: BROKERS, topic: job.alerts, partitions: 6, linger: '5ms' },
      deadLetter: { type: 'kafka', brokers: BROKERS, topic: job.deadLetters, partitions: 1 },
      ...(job.state ? { state: job.state } : {}),
      ...(job.shadow ? { shadowSink: { type: 'kafka', brokers: BROKERS, topic: job.shadow, partitions: 6 } } : {}),
      ...job.rules,
    },
    { baseDir: '/' },
  );
}

/**
 * Runs the engine in-process on a Kafka job until `until(pipeline)` holds,
 * then stops it gracefully (drain, flush, commit) and returns its totals.
 */
export async function runKafkaJob(_t: TestContext, job: KafkaJob, until: (engine: RunningEngine) => boolean, timeoutMs = 120_000): Promise<RunSummary> {
  let pipeline: RunningEngine | undefined;
  const run = runEngine(kafkaConfig(job), {
    onStart: (p) => {
      pipeline = p;
    },
  });
  let failure: unknown;
  run.catch((error: unknown) => {
    failure = error;
  });
  await waitFor(
    () => {
      if (failure !== undefined) throw failure;
      return pipeline !== undefined && until(pipeline);
    },
    'the engine to reach its goal',
    timeoutMs,
  );
  (pipeline as RunningEngine).stop();
  return run;
}
