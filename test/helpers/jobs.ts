/**
 * Kafka jobs for the engine as its own process (`klaxon run`), the way an
 * operator runs it: fresh topics, group and Redis prefix per test; a config
 * file per worker count; children started, waited for, stopped or killed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Plant } from '../../src/io/generator/readings.js';
import { CLI } from './cli.js';
import { BROKERS, freshGroup, freshTopic, waitFor } from './kafka.js';

export const REDIS_URL = process.env.KLAXON_REDIS_URL ?? 'redis://127.0.0.1:16379';
/** The local Redis Cluster services/up.sh starts (its nodes). */
export const REDIS_CLUSTER = (process.env.KLAXON_REDIS_CLUSTER ?? '127.0.0.1:17001,127.0.0.1:17002,127.0.0.1:17003').split(',');

export const RULES = {
  window: { size: 100, pane: '1s' },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
    { id: 'above-avg', type: 'window_avg', span: '1m', abovePct: 5 },
    { id: 'rising', type: 'rate_of_change', lag: '1m', pct: 10, direction: 'up' },
    // A shadow rule: its alerts go to the shadow topic (in exactly-once mode, inside the same transactions).
    { id: 'outlier-preview', type: 'zscore', k: 2.5, minSamples: 30, shadow: true },
  ],
};

export function generated(count: number, seed: number): string[] {
  const plant = new Plant({ zones: 300, devicesPerZone: 3, seed, spikeRate: 0.003, heatWaveRate: 0.001, badRate: 0.001 });
  return Array.from({ length: count }, (_, i) => plant.next(1_760_000_000_000 + i * 5).line);
}

export interface Job {
  /** Where snapshots go: the shared Redis unless the test brought its own. */
  redisUrl?: string;
  /** Tiering: at most this many zones in the workers' memory (state.maxZonesInMemory). */
  maxZonesInMemory?: number;
  /** Snapshots on a Redis Cluster (these nodes) instead of one Redis. */
  redisCluster?: readonly string[];
  readings: string;
  alerts: string;
  shadow: string;
  deadLetters: string;
  groupId: string;
  prefix: string;
}

export async function writeJobConfig(dir: string, job: Job, workers: number, guarantee = 'at-least-once', more: Record<string, unknown> = {}): Promise<string> {
  const path = join(dir, `klaxon-${workers}.json`);
  await writeFile(
    path,
    JSON.stringify({
      guarantee,
      engine: { workers, batchSize: 500, instanceId: 'only' },
      source: { type: 'kafka', brokers: BROKERS, topic: job.readings, groupId: job.groupId, commitInterval: '100ms' },
      sink: { type: 'kafka', brokers: BROKERS, topic: job.alerts },
      shadowSink: { type: 'kafka', brokers: BROKERS, topic: job.shadow },
      deadLetter: { type: 'kafka', brokers: BROKERS, topic: job.deadLetters },
      state: {
        type: 'redis',
        ...(job.redisCluster === undefined ? { url: job.redisUrl ?? REDIS_URL } : { cluster: job.redisCluster }),
        prefix: job.prefix,
        snapshotInterval: '300ms',
        ...(job.maxZonesInMemory === undefined ? {} : { maxZonesInMemory: job.maxZonesInMemory }),
      },
      ...RULES,
      ...more,
    }),
  );
  return path;
}

/**
 * Starts `klaxon run` as a child; kill -9 it once the group has committed `killAt` records (or let it finish).
 * Resolves with its stderr.
 */
export async function runChild(configPath: string, committed: () => Promise<number>, killAt: number | undefined, total: number): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  try {
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new Error(`the engine exited early (${exitCode}): ${stderr}`);
        // A signal before Node has loaded the CLI cannot be caught: stop only a started engine.
        return stderr.includes('engine started') && (await committed()) >= (killAt ?? total);
      },
      `commits to reach ${killAt ?? total}`,
      90_000,
    );
  } finally {
    child.kill(killAt === undefined ? 'SIGTERM' : 'SIGKILL');
  }
  const code = await exited;
  if (killAt === undefined) assert.equal(code, 0, `graceful stop exits 0; stderr: ${stderr}`);
  return stderr;
}

export async function freshJob(t: TestContext): Promise<Job> {
  return {
    readings: await freshTopic(t, 'readings', 6),
    alerts: await freshTopic(t, 'alerts', 6),
    shadow: await freshTopic(t, 'shadow', 6),
    deadLetters: await freshTopic(t, 'dead', 1),
    groupId: freshGroup(),
    prefix: `test-${randomUUID().slice(0, 8)}`,
  };
}

/** A `klaxon run` child that the test stops (SIGTERM, graceful) or kills (SIGKILL) when it likes. */
export interface EngineChild {
  child: ChildProcess;
  /** Resolves when `condition` holds; on a timeout the error carries the engine's last log lines. */
  waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void>;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Resolves once it logged "engine started". */
  started: Promise<void>;
  exited: Promise<number | null>;
}

export function startEngine(configPath: string, env: NodeJS.ProcessEnv = {}): EngineChild {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
    // For a person debugging a test: every engine's log in a folder of their choice.
    if (process.env.KLAXON_TEST_LOG_DIR) appendFileSync(join(process.env.KLAXON_TEST_LOG_DIR, `engine-${child.pid}.log`), chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let gone = false;
  exited.then(() => (gone = true));
  const started = waitFor(
    () => {
      if (gone) throw new Error(`the engine exited before it started: ${stderr}`);
      return stderr.includes('engine started');
    },
    'the engine to start',
    60_000,
  );
  return {
    child,
    stderr: () => stderr,
    started,
    exited,
    waitFor: (condition, what, timeoutMs) =>
      waitFor(condition, what, timeoutMs).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; the engine's last log lines:\n${stderr.split('\n').slice(-40).join('\n')}`);
      }),
  };
}
