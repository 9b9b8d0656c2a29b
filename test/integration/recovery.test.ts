/**
 * Crash recovery through Redis snapshots on the real broker and Redis:
 * kill -9 at several points, restart (with another worker count), and the
 * alerts topic still holds exactly the contract's alerts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Plant } from '../../src/io/generator/readings.js';
import { CLI } from '../helpers/cli.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { BROKERS, freshGroup, freshTopic, kafka, produceLines, readTopic, waitFor } from '../helpers/kafka.js';
import { runOnLines, tempDir } from '../helpers/run-engine.js';

const REDIS_URL = process.env.KLAXON_REDIS_URL ?? 'redis://127.0.0.1:16379';

const RULES = {
  window: { size: 100, pane: '1s' },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
    { id: 'above-avg', type: 'window_avg', span: '1m', abovePct: 5 },
    { id: 'rising', type: 'rate_of_change', lag: '1m', pct: 10, direction: 'up' },
  ],
};

function generated(count: number, seed: number): string[] {
  const plant = new Plant({ zones: 300, devicesPerZone: 3, seed, spikeRate: 0.003, heatWaveRate: 0.001, badRate: 0.001 });
  return Array.from({ length: count }, (_, i) => plant.next(1_760_000_000_000 + i * 5).line);
}

/** Committed offsets of the job's group, summed over partitions, through one admin connection per test. */
async function groupProgress(t: TestContext, groupId: string, topic: string): Promise<() => Promise<number>> {
  const admin = kafka().admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  return async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  };
}

interface Job {
  readings: string;
  alerts: string;
  deadLetters: string;
  groupId: string;
  prefix: string;
}

async function writeJobConfig(dir: string, job: Job, workers: number, guarantee = 'at-least-once'): Promise<string> {
  const path = join(dir, `klaxon-${workers}.json`);
  await writeFile(
    path,
    JSON.stringify({
      guarantee,
      engine: { workers, batchSize: 500, instanceId: 'only' },
      source: { type: 'kafka', brokers: BROKERS, topic: job.readings, groupId: job.groupId, commitInterval: '100ms' },
      sink: { type: 'kafka', brokers: BROKERS, topic: job.alerts },
      deadLetter: { type: 'kafka', brokers: BROKERS, topic: job.deadLetters },
      state: { type: 'redis', url: REDIS_URL, prefix: job.prefix, snapshotInterval: '300ms' },
      ...RULES,
    }),
  );
  return path;
}

/** Starts `klaxon run` as a child; kill -9 it once the group has committed `killAt` records (or let it finish). */
async function runChild(configPath: string, committed: () => Promise<number>, killAt: number | undefined, total: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  try {
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new Error(`the engine exited early (${exitCode}): ${stderr}`);
        return (await committed()) >= (killAt ?? total);
      },
      `commits to reach ${killAt ?? total}`,
      90_000,
    );
  } finally {
    child.kill(killAt === undefined ? 'SIGTERM' : 'SIGKILL');
  }
  const code = await exited;
  if (killAt === undefined) assert.equal(code, 0, `graceful stop exits 0; stderr: ${stderr}`);
}

async function freshJob(t: TestContext): Promise<Job> {
  return {
    readings: await freshTopic(t, 'readings', 6),
    alerts: await freshTopic(t, 'alerts', 6),
    deadLetters: await freshTopic(t, 'dead', 1),
    groupId: freshGroup(),
    prefix: `test-${randomUUID().slice(0, 8)}`,
  };
}

test('exactly-once: kill -9 at several points, workers 3 → 1 → 2: a read_committed reader sees every contract alert exactly once', async (t) => {
  const lines = generated(100_000, 12);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  const expectedDead = (await runOnLines(t, lines, RULES, { workers: 1 })).deadLetters.length;
  const job = await freshJob(t);
  await produceLines(job.readings, lines);
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  const plan: Array<[number, number | undefined]> = [
    [3, 25_000],
    [1, 60_000],
    [2, undefined],
  ];
  for (const [workers, killAt] of plan) await runChild(await writeJobConfig(dir, job, workers, 'exactly-once'), committed, killAt, lines.length);
  const written = (await readTopic(job.alerts, { count: expected.length })).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assertSameAlerts(written, expected, 'exactly-once');
  assert.equal(written.length, expected.length, 'no alert twice');
  assert.equal((await readTopic(job.deadLetters, { count: expectedDead })).length, expectedDead, 'each dead letter once');
});

test('kill -9 at several points, workers 2 → 4 → 1 → 3: the alerts topic holds every contract alert, duplicates only identical', async (t) => {
  const lines = generated(120_000, 11);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  assert.ok(expected.length > 1_000);
  const job = await freshJob(t);
  await produceLines(job.readings, lines);
  const dir = await tempDir(t);
  const plan: Array<[number, number | undefined]> = [
    [2, 20_000],
    [4, 55_000],
    [1, 80_000],
    [3, undefined],
  ];
  const committed = await groupProgress(t, job.groupId, job.readings);
  for (const [workers, killAt] of plan) await runChild(await writeJobConfig(dir, job, workers), committed, killAt, lines.length);
  assert.equal(await committed(), lines.length);

  const written = (await readTopic(job.alerts)).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  const unique = new Map<string, Record<string, unknown>>();
  for (const alert of written) {
    const key = `${alert.alert_id}|${alert.status}`;
    const seen = unique.get(key);
    if (seen) assert.deepEqual(alert, seen, `a replayed alert is identical to the first: ${key}`);
    unique.set(key, alert);
  }
  assertSameAlerts([...unique.values()], expected, 'after crashes');
});
