/**
 * Crash recovery through Redis snapshots on the real broker and Redis:
 * kill -9 at several points, restart (with another worker count), and the
 * alerts topic still holds exactly the contract's alerts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { zoneKey } from '../../src/io/kafka/readings-producer.js';
import { CLI, klaxon } from '../helpers/cli.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { freshJob, generated, type Job, REDIS_CLUSTER, REDIS_URL, RULES, runChild, writeJobConfig } from '../helpers/jobs.js';
import { groupProgress, produceKeyed, produceLines, readCommitted, readTopic, waitFor } from '../helpers/kafka.js';
import { privateRedis } from '../helpers/private-services.js';
import { runOnLines, tempDir } from '../helpers/run-engine.js';

/** One run: its workers, kill -9 once this many records are committed (undefined: run to the end), and only once `killOnlyWhen` holds too. */
type Run = [workers: number, killAt: number | undefined, killOnlyWhen?: () => Promise<boolean>];

test('exactly-once: kill -9 at several points, workers 3 → 1 → 2: a read_committed reader sees every contract alert exactly once', async (t) => {
  const lines = generated(100_000, 12);
  const job = await freshJob(t);
  await produceLines(job.readings, lines);
  await exactlyOnceThroughKills(t, job, lines, [
    [3, 25_000],
    [1, 60_000],
    [2, undefined],
  ]);
});

test('state on a Redis Cluster: exactly-once, kill -9 then workers 2 → 3 resume from the snapshots on the cluster, every contract alert exactly once; state inspect and state reset reach every master', async (t) => {
  const lines = generated(50_000, 17);
  const job = { ...(await freshJob(t)), redisCluster: REDIS_CLUSTER };
  let committedAtKill = 0;
  let snapshotted = 0;
  // The last 10,000 records are sent after the kill, so the restart always has records to read; and the kill
  // waits for a snapshot on the cluster: on a fast machine 20,000 commits can come before the first one
  // (on our 2-core machine the gated kill landed at 22,000-31,000 commits in 4 of 5 runs, after all 40,000 in one).
  await produceLines(job.readings, lines.slice(0, 40_000));
  const stderr = await exactlyOnceThroughKills(
    t,
    job,
    lines,
    [
      [2, 20_000, async () => (await snapshotOffsets(job)).some((offset) => offset > 0)],
      [3, undefined],
    ],
    async (run, committed) => {
      if (run > 0) return;
      committedAtKill = await committed();
      snapshotted = (await snapshotOffsets(job)).reduce((sum, offset) => sum + offset, 0);
      await produceLines(job.readings, lines.slice(40_000));
    },
  );
  // The crash left snapshots on the cluster (hash-tagged keys), and the restart resumed from them.
  const replayed = Number(/([\d,]+) records? replayed/.exec(stderr)?.[1]?.replaceAll(',', '') ?? 0);
  t.diagnostic(`at the kill: ${committedAtKill} records committed, snapshots at ${snapshotted}; the restart replayed ${replayed}`);
  assert.ok(snapshotted > 0, 'snapshots on the cluster before the kill');
  assert.ok(replayed < committedAtKill, `replayed ${replayed} of ${committedAtKill} committed records: ${stderr}`);
  const config = await writeJobConfig(await tempDir(t), job, 1);
  const zoneId = (JSON.parse(lines[0] ?? '{}') as { zone_id: string }).zone_id;
  const inspect = await klaxon(['state', 'inspect', zoneId, '--config', config]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, new RegExp(`^zone ${zoneId} \\(partition \\d, snapshot resumes at offset \\d+\\)`));
  const reset = await klaxon(['state', 'reset', '--config', config]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /removed the snapshots of 6 partitions/);
});

/**
 * Runs the plan with exactly-once on `lines` (the caller produces them, all at once or in `afterRun`),
 * then reads the topics back with Kafka's read_committed reader. Resolves with the last run's stderr.
 */
async function exactlyOnceThroughKills(
  t: TestContext,
  job: Job,
  lines: string[],
  plan: Run[],
  afterRun: (run: number, committed: () => Promise<number>) => Promise<void> = async () => {},
): Promise<string> {
  const reference = await runOnLines(t, lines, RULES, { workers: 1 });
  const expected = reference.alerts;
  const expectedDead = reference.deadLetters.length;
  assert.ok(reference.shadow.length > 50, 'the shadow rule fires');
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  let stderr = '';
  for (const [run, [workers, killAt, killOnlyWhen]] of plan.entries()) {
    stderr = await runChild(await writeJobConfig(dir, job, workers, 'exactly-once'), countedOnce(committed, killOnlyWhen), killAt, lines.length);
    await afterRun(run, committed);
  }
  // Kafka's own read_committed reader: kafkajs lets some aborted records through (see readCommitted).
  const written = (await readCommitted(job.alerts)).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assertSameAlerts(written, expected, 'exactly-once');
  assert.equal(written.length, expected.length, 'no alert twice');
  assert.equal((await readCommitted(job.deadLetters)).length, expectedDead, 'each dead letter once');
  const shadow = (await readCommitted(job.shadow)).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assertSameAlerts(shadow, reference.shadow, 'exactly-once, shadow');
  assert.equal(shadow.length, reference.shadow.length, 'no shadow alert twice');
  return stderr;
}

test('kill -9 at several points, workers 2 → 4 → 1 → 3: the alerts topic holds every contract alert, duplicates only identical', async (t) => {
  const lines = generated(120_000, 11);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  assert.ok(expected.length > 1_000);
  const job = await freshJob(t);
  await produceLines(job.readings, lines);
  const plan: Run[] = [
    [2, 20_000],
    [4, 55_000],
    [1, 80_000],
    [3, undefined],
  ];
  await crashAndCompare(t, job, lines.length, plan, expected);
});

test('records keyed by something other than their zone (routed by their zone_id, counted and warned about), kill -9 under snapshots: every contract alert, duplicates only identical', async (t) => {
  const lines = generated(100_000, 13);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  const job = await freshJob(t);
  // Each zone still keeps to one partition (one key per zone), but the key hashes to another worker than the zone's.
  const keyOf = (line: string) => `key-of-${zoneKey(Buffer.from(line)) ?? ''}`;
  // The second half is sent only after the kill, so the restart always has records to read: on a fast
  // machine a kill at 60,000 of 100,000 once landed after the last commit, and the restart read nothing.
  // The kill also waits for a snapshot: a fast machine can commit 30,000 records before the first one.
  await produceKeyed(job.readings, lines.slice(0, 50_000), keyOf);
  const { runs, committedAfter } = await crashAndCompare(
    t,
    job,
    lines.length,
    [
      [3, 30_000, async () => (await snapshotOffsets(job)).some((offset) => offset > 0)],
      [2, undefined],
    ],
    expected,
    async (run) => {
      if (run === 0) await produceKeyed(job.readings, lines.slice(50_000), keyOf);
    },
  );
  // Whichever run reads mismatched keys warns; both runs' logs count.
  const everyLog = runs.join('');
  assert.match(everyLog, /records whose key is not their zone_id/);
  assert.match(everyLog, /records not keyed by their zone_id/);
  // The restart resumed from a snapshot taken while records were being sent on, not from the beginning
  // (no line: nothing replayed, the snapshot was at the committed offset).
  const restart = runs[1] ?? '';
  const replayed = Number(/([\d,]+) records? replayed/.exec(restart)?.[1]?.replaceAll(',', '') ?? 0);
  const committedAtKill = committedAfter[0] ?? 0;
  t.diagnostic(`killed with ${committedAtKill} records committed; the restart replayed ${replayed}`);
  assert.ok(replayed < committedAtKill, `replayed ${replayed} of ${committedAtKill} committed records: ${restart}`);
});

test('tiering: 60 of 300 zones in memory, kill -9, restart with 3 workers and 90: every contract alert, evicted zones read back from Redis', async (t) => {
  const lines = generated(40_000, 21);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  const job = await freshJob(t);
  await produceLines(job.readings, lines.slice(0, 20_000));
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  // Killed once every partition has a snapshot: the restart restores them past its limit, so it must read zones back from Redis
  // (without one it would rebuild every zone from the log, and might finish before its first eviction).
  const everyPartitionSnapshotted = async () => (await snapshotOffsets(job)).every((offset) => offset > 0);
  await runChild(await writeJobConfig(dir, { ...job, maxZonesInMemory: 60 }, 2), countedOnce(committed, everyPartitionSnapshotted), 15_000, 20_000);
  await produceLines(job.readings, lines.slice(20_000));
  const stderr = await runChild(await writeJobConfig(dir, { ...job, maxZonesInMemory: 90 }, 3), committed, undefined, lines.length);
  const tiering = /"evictions":(\d+),"reloads":(\d+)/.exec(stderr);
  assert.ok(tiering !== null, `the run reports tiering: ${stderr}`);
  assert.ok(Number(tiering[1]) > 0 && Number(tiering[2]) > 0, `zones evicted and read back: ${stderr}`);
  const written = (await readTopic(job.alerts)).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assertSameAlerts(uniqueAlerts(written), expected, 'tiering through kill -9');
});

/** Runs the plan, calling `afterRun` after each run, then checks the alerts topic against `expected`. Resolves with each run's stderr and the records committed when it ended. */
async function crashAndCompare(
  t: TestContext,
  job: Job,
  total: number,
  plan: Run[],
  expected: Record<string, unknown>[],
  afterRun: (run: number) => Promise<void> = async () => {},
): Promise<{ runs: string[]; committedAfter: number[] }> {
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  const runs: string[] = [];
  const committedAfter: number[] = [];
  for (const [run, [workers, killAt, killOnlyWhen]] of plan.entries()) {
    runs.push(await runChild(await writeJobConfig(dir, job, workers), countedOnce(committed, killOnlyWhen), killAt, total));
    committedAfter.push(await committed());
    await afterRun(run);
  }
  assert.equal(await committed(), total);
  const written = (await readTopic(job.alerts)).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assertSameAlerts(uniqueAlerts(written), expected, 'after crashes');
  return { runs, committedAfter };
}

/** The committed records, counted as 0 until `ready` has held once: a kill at N commits then also waits for it. */
function countedOnce(committed: () => Promise<number>, ready: (() => Promise<boolean>) | undefined): () => Promise<number> {
  if (ready === undefined) return committed;
  let held = false;
  return async () => {
    held ||= await ready();
    return held ? committed() : 0;
  };
}

/** Starts `klaxon ARGS` and resolves with its exit code and stderr. */
function klaxonExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('other rules resume from the snapshots; another window stops the start with a clear error, and `klaxon state reset` clears the way', async (t) => {
  const lines = generated(5_000, 13);
  const job = await freshJob(t);
  await produceLines(job.readings, lines);
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  await runChild(await writeJobConfig(dir, job, 2), committed, undefined, lines.length);
  const original = JSON.parse(await readFile(await writeJobConfig(dir, job, 2), 'utf8')) as {
    rules: Array<Record<string, unknown>>;
    window: Record<string, unknown>;
  };

  // One rule changed: zone statistics do not depend on rules, so the snapshots still hold.
  const otherRules = join(dir, 'other-rules.json');
  await writeFile(otherRules, JSON.stringify({ ...original, rules: [{ id: 'too-hot', type: 'threshold', above: 80 }, ...original.rules.slice(1)] }));
  await produceLines(job.readings, generated(100, 14));
  await runChild(otherRules, committed, undefined, lines.length + 100);

  // Another window: the snapshots no longer mean what they say.
  const otherWindow = join(dir, 'other-window.json');
  await writeFile(otherWindow, JSON.stringify({ ...original, window: { ...original.window, size: 200 } }));
  await produceLines(job.readings, generated(100, 15));
  const refused = await klaxonExit(['run', '--config', otherWindow]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /was made with window size 100, pane 1000 ms, retain 61 panes, this config has window size 200, pane 1000 ms, retain 61 panes/);
  assert.match(refused.stderr, /klaxon state reset --config FILE/);

  const reset = await klaxonExit(['state', 'reset', '--config', otherWindow]);
  assert.equal(reset.code, 0, reset.stderr);
  await runChild(otherWindow, committed, undefined, lines.length + 200);
  assert.equal(await committed(), lines.length + 200);
});

test('two engine processes in one group, one killed: the other takes its partitions with their state, alerts exact', async (t) => {
  const lines = generated(100_000, 15);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  const job = await freshJob(t);
  // The rest is sent after the kill, so the survivor must read a's partitions whatever the machine's speed.
  await produceLines(job.readings, lines.slice(0, 40_000));
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  const config = await writeJobConfig(dir, job, 1);
  const spawnEngine = (instance: string) =>
    spawn(process.execPath, [CLI, 'run', '--config', config], { stdio: 'ignore', env: { ...process.env, KLAXON_INSTANCE_ID: instance } });
  const a = spawnEngine('a');
  const b = spawnEngine('b');
  const bExit = new Promise<number | null>((resolve) => b.once('exit', resolve));
  try {
    await waitFor(async () => (await committed()) >= 30_000, 'both engines to make progress', 90_000);
    a.kill('SIGKILL');
    await produceLines(job.readings, lines.slice(40_000));
    // b gets a's partitions once the group notices (session timeout) and replays from their snapshots.
    await waitFor(async () => (await committed()) >= lines.length, 'the survivor to finish', 120_000);
  } finally {
    a.kill('SIGKILL');
    b.kill('SIGTERM');
  }
  assert.equal(await bExit, 0);
  const unique = new Map(
    (await readTopic(job.alerts)).map((r) => [`${JSON.parse(r.value).alert_id}|${JSON.parse(r.value).status}`, JSON.parse(r.value) as Record<string, unknown>]),
  );
  assertSameAlerts([...unique.values()], expected, 'after losing one of two engines');
});

test('Redis restarted empty under a running engine: it retries, rewrites the snapshots in full, and a later crash still recovers exactly', async (t) => {
  const lines = generated(100_000, 16);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  // A Redis of this test's own: restarting the shared one would pull it from under every other test.
  const redis = await privateRedis(t);
  const job = { ...(await freshJob(t)), redisUrl: redis.url };
  // The stream is sent in three parts, so the engine has records to read after the Redis restart and the
  // restart after the crash has records to read too, however fast the machine (all 100,000 sent up front,
  // a fast engine finished before the "later crash").
  await produceLines(job.readings, lines.slice(0, 30_000));
  const dir = await tempDir(t);
  const committed = await groupProgress(t, job.groupId, job.readings);
  const config = await writeJobConfig(dir, job, 2);
  const engine = spawn(process.execPath, [CLI, 'run', '--config', config], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => engine.once('exit', resolve));
  try {
    await waitFor(async () => (await committed()) >= 20_000, 'progress before the Redis restart', 90_000);
    await redis.restartEmpty();
    await produceLines(job.readings, lines.slice(30_000, 70_000));
    await waitFor(async () => (await committed()) >= 50_000, 'progress after the Redis restart', 90_000);
    // Give the engine a checkpoint after the restart, then crash it.
    await waitFor(async () => (await snapshotOffsets(job)).every((offset) => offset > 0), 'every partition snapshotted again', 30_000);
  } finally {
    engine.kill('SIGKILL');
  }
  await exited;
  await produceLines(job.readings, lines.slice(70_000));
  await runChild(config, committed, undefined, lines.length);
  const unique = new Map(
    (await readTopic(job.alerts)).map((r) => [`${JSON.parse(r.value).alert_id}|${JSON.parse(r.value).status}`, JSON.parse(r.value) as Record<string, unknown>]),
  );
  assertSameAlerts([...unique.values()], expected, 'after a Redis restart and a crash');
});

/** Each partition's snapshot offset, read from its meta key in the job's Redis or (hash-tagged) on its Cluster (0: none). */
async function snapshotOffsets(job: Job): Promise<number[]> {
  const { Cluster, Redis } = await import('ioredis');
  const nodes = job.redisCluster;
  const client =
    nodes === undefined
      ? new Redis(job.redisUrl ?? REDIS_URL)
      : new Cluster(nodes.map((node) => ({ host: node.split(':')[0] ?? '', port: Number(node.split(':')[1]) })));
  const meta = (partition: number) =>
    nodes === undefined ? `${job.prefix}:${job.readings}:${partition}:meta` : `{${job.prefix}:${job.readings}:${partition}}:meta`;
  try {
    return await Promise.all(Array.from({ length: 6 }, async (_, partition) => Number((await client.hget(meta(partition), 'offset')) ?? 0)));
  } finally {
    client.disconnect();
  }
}

/** Each alert_id+status once; a repeat (at-least-once replay) must be identical to the first. */
function uniqueAlerts(written: readonly Record<string, unknown>[]): Array<Record<string, unknown>> {
  const unique = new Map<string, Record<string, unknown>>();
  for (const alert of written) {
    const key = `${alert.alert_id}|${alert.status}`;
    const seen = unique.get(key);
    if (seen) assert.deepEqual(alert, seen, `a replayed alert is identical to the first: ${key}`);
    unique.set(key, alert);
  }
  return [...unique.values()];
}
