/**
 * Live rule versions on the real broker and Redis: `klaxon rules apply`
 * publishes sample-v2's versions to the rules topic while two engine
 * processes run (each picks every version up without a restart), and while
 * an engine is down after a kill -9; the alerts and shadow topics then hold
 * exactly the sample's alerts (at-least-once: repeats only identical).
 * And a deployment whose snapshots were made before live rules converts
 * them at its first start.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { Shard } from '../../src/engine/shard.js';
import { imageHeader } from '../../src/engine/zone-image.js';
import { AssignerProtocol } from '../../src/io/kafka/kafkajs.js';
import { linesTask } from '../../src/protocol/messages.js';
import { CLI, klaxon } from '../helpers/cli.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { BROKERS, deleteTopicAfter, freshGroup, freshTopic, groupProgress, kafka, produceLines, readTopic, waitFor } from '../helpers/kafka.js';
import { runKafkaJob } from '../helpers/kafka-engine.js';
import { readLegacySnapshot } from '../helpers/legacy.js';
import { rulesConfig, shardSetup } from '../helpers/rules.js';
import { tempDir } from '../helpers/run-engine.js';
import { readSample } from '../helpers/samples.js';
import { randomStream } from '../helpers/streams.js';
import { splitByVersion } from '../helpers/versions.js';

const REDIS_URL = process.env.KLAXON_REDIS_URL ?? 'redis://127.0.0.1:16379';

interface Version {
  version: number;
  effectiveFrom: number;
}

interface Job {
  config: string;
  alerts: string;
  shadow: string;
  readings: string;
  groupId: string;
  committed: () => Promise<number>;
}

/** A Kafka job for sample-v2 whose config holds only version 1; the rules topic is the test's own. */
async function sampleJob(t: TestContext, rules: Record<string, unknown>): Promise<Job> {
  const readings = await freshTopic(t, 'readings', 6);
  const alerts = await freshTopic(t, 'alerts', 6);
  const shadow = await freshTopic(t, 'shadow', 6);
  const dead = await freshTopic(t, 'dead', 1);
  const rulesTopic = `rules-${randomUUID().slice(0, 8)}`;
  await deleteTopicAfter(t, rulesTopic);
  const groupId = freshGroup();
  const dir = await tempDir(t);
  const config = join(dir, 'job.json');
  const versions = rules.versions as Version[];
  await writeFile(
    config,
    JSON.stringify({
      engine: { workers: 2, batchSize: 500 },
      source: { type: 'kafka', brokers: BROKERS, topic: readings, groupId, commitInterval: '200ms', rulesTopic },
      sink: { type: 'kafka', brokers: BROKERS, topic: alerts },
      shadowSink: { type: 'kafka', brokers: BROKERS, topic: shadow },
      deadLetter: { type: 'kafka', brokers: BROKERS, topic: dead },
      state: { type: 'redis', url: REDIS_URL, prefix: `test-${randomUUID().slice(0, 8)}`, snapshotInterval: '300ms' },
      window: rules.window,
      mode: rules.mode,
      versions: versions.slice(0, 1),
    }),
  );
  for (const version of versions.slice(1)) await writeFile(join(dir, `v${version.version}.json`), JSON.stringify(version));
  return { config, alerts, shadow, readings, groupId, committed: await groupProgress(t, groupId, readings) };
}

/** Partitions of the readings topic assigned to each member of the job's group, as the broker sees it now. */
async function assignedPartitions(job: Job): Promise<number[][]> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([job.groupId]);
    const members = groups[0]?.state === 'Stable' ? groups[0].members : [];
    return members.map((member) => AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[job.readings] ?? []);
  } finally {
    await admin.disconnect();
  }
}

/** `klaxon run` as a child process; its stderr is collected (the engine's logs). */
function engine(t: TestContext, job: Job, instance: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'run', '--config', job.config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KLAXON_INSTANCE_ID: instance },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => {
    child.kill('SIGKILL');
  });
  return { child, stderr: () => stderr, exited };
}

async function apply(job: Job, version: number): Promise<void> {
  const applied = await klaxon(['rules', 'apply', '--config', job.config, '--rules', join(job.config, '..', `v${version}.json`)]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /published to the rules topic/);
}

/** Every alert_id+status once, after checking repeats are identical (at-least-once). */
async function uniqueAlerts(topic: string): Promise<Array<Record<string, unknown>>> {
  const unique = new Map<string, Record<string, unknown>>();
  for (const record of await readTopic(topic)) {
    const alert = JSON.parse(record.value) as Record<string, unknown>;
    const key = `${alert.alert_id}|${alert.status}`;
    const seen = unique.get(key);
    if (seen !== undefined) assert.deepEqual(alert, seen, `a repeated alert is identical to the first: ${key}`);
    unique.set(key, alert);
  }
  return [...unique.values()];
}

async function assertSample(job: Job, expected: ReadonlyArray<Record<string, unknown>>, label: string): Promise<void> {
  assertSameAlerts(
    await uniqueAlerts(job.alerts),
    expected.filter((alert) => alert.shadow !== true),
    label,
  );
  assertSameAlerts(
    await uniqueAlerts(job.shadow),
    expected.filter((alert) => alert.shadow === true),
    `${label}, shadow`,
  );
}

/** Records an engine read, from its summary line ("klaxon: 19,175 records (…"). */
const recordsRead = (stderr: string) => Number((/klaxon: ([\d,]+) records \(/.exec(stderr)?.[1] ?? '0').replaceAll(',', ''));

const appliedIn = (stderr: string, version: number) => new RegExp(`rule set version ${version} in force from`).test(stderr);

test('two engine processes follow the rules topic: each version applied while they run, before the readings of its time: exact', {
  timeout: 300_000,
}, async (t) => {
  const data = await readSample('sample-v2');
  const versions = data.rules.versions as Version[];
  const job = await sampleJob(t, data.rules);
  const engines = [engine(t, job, 'a'), engine(t, job, 'b')];
  await waitFor(() => engines.every((e) => e.stderr().includes('engine started')), 'both engines to start', 60_000);
  // Nothing is sent before both hold partitions: else the first to join may read every record alone.
  await waitFor(
    async () => {
      const assigned = await assignedPartitions(job);
      return assigned.length === 2 && assigned.every((partitions) => partitions.length > 0);
    },
    'both engines to hold partitions of the readings topic',
    60_000,
  );
  const parts = splitByVersion(data.lines, versions);
  let produced = 0;
  for (const [i, part] of parts.entries()) {
    const version = versions[i];
    if (i > 0 && version !== undefined) {
      const started = Date.now();
      await apply(job, version.version);
      // Each process picks it up without a restart.
      await waitFor(() => engines.every((e) => appliedIn(e.stderr(), version.version)), `both engines to apply version ${version.version}`, 5_000);
      const appliedAt = engines.map((e) =>
        Date.parse(new RegExp(`"time":"([^"]+)"[^\n]*rule set version ${version.version} in force`).exec(e.stderr())?.[1] ?? ''),
      );
      t.diagnostic(
        `version ${version.version} in force at both engines ${Math.max(...appliedAt) - started} ms after \`klaxon rules apply\` started (it reads the topic, checks, then publishes)`,
      );
    }
    await produceLines(job.readings, part);
    produced += part.length;
    // The readings of this part are in before the next version is published (its effectiveFrom is past them).
    await waitFor(async () => (await job.committed()) >= produced, `part ${i} committed`, 120_000);
  }
  for (const e of engines) e.child.kill('SIGTERM');
  for (const e of engines) assert.equal(await e.exited, 0, e.stderr());
  for (const e of engines) assert.doesNotMatch(e.stderr(), /arrived after readings/, 'no version was late');
  for (const e of engines) assert.ok(recordsRead(e.stderr()) > 0, `both processes had partitions: ${e.stderr()}`);
  await assertSample(job, data.alerts, 'two processes, live versions');
});

test('kill -9 after a version change, the next version applied while the engine is down: the restart recovers exactly', { timeout: 300_000 }, async (t) => {
  const data = await readSample('sample-v2');
  const versions = data.rules.versions as Version[];
  const job = await sampleJob(t, data.rules);
  const [part1 = [], part2 = [], part3 = []] = splitByVersion(data.lines, versions);
  const first = engine(t, job, 'only');
  await waitFor(() => first.stderr().includes('engine started'), 'the engine to start', 60_000);
  await produceLines(job.readings, part1);
  await apply(job, 2);
  await waitFor(() => appliedIn(first.stderr(), 2), 'version 2 applied', 5_000);
  await produceLines(job.readings, part2);
  // Well into version 2's readings, with snapshots taken under it: then kill -9.
  await waitFor(async () => (await job.committed()) >= part1.length + part2.length / 2, 'progress under version 2', 120_000);
  first.child.kill('SIGKILL');
  await first.exited;
  await apply(job, 3);
  await produceLines(job.readings, part3);
  const second = engine(t, job, 'only');
  await waitFor(async () => (await job.committed()) >= data.lines.length, 'the restart to finish', 180_000);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.stderr());
  assert.match(second.stderr(), /"versions":\[1,2,3\]/, 'the restart read every version before any reading');
  const replayed = Number((/([\d,]+) records replayed/.exec(second.stderr())?.[1] ?? '0').replaceAll(',', ''));
  t.diagnostic(
    `the first run read ${recordsRead(first.stderr())} records before the kill (none: killed before its summary); the restart read ${recordsRead(second.stderr())}, replaying ${replayed}`,
  );
  assert.ok(recordsRead(second.stderr()) < data.lines.length, 'the restart resumed from snapshots, not from the beginning');
  await assertSample(job, data.alerts, 'after kill -9 and a version applied meanwhile');
});

test("a deployment's snapshots made before live rules (format 2) convert at the first start of this engine, which goes on exactly", {
  timeout: 120_000,
}, async (t) => {
  const legacy = readLegacySnapshot();
  const lines = randomStream(legacy.stream);
  // One partition, so the snapshot's offset is the line number of the cut.
  const readings = await freshTopic(t, 'readings', 1);
  const alerts = await freshTopic(t, 'alerts', 1);
  const deadLetters = await freshTopic(t, 'dead', 1);
  const groupId = freshGroup();
  await produceLines(readings, lines, 1);
  const admin = kafka().admin();
  await admin.connect();
  await admin.setOffsets({ groupId, topic: readings, partitions: [{ partition: 0, offset: String(legacy.cut) }] });
  await admin.disconnect();
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(REDIS_URL);
  t.after(() => redis.disconnect());
  const key = (part: string) => `${prefix}:${readings}:0:${part}`;
  await redis.hset(key('meta'), 'offset', String(legacy.cut), 'format', '2', 'rules', legacy.fingerprint);
  await redis.sadd(key('ids'), ...Object.keys(legacy.zones));
  for (const [zoneId, image] of Object.entries(legacy.zones)) await redis.set(key(`zone:${zoneId}`), Buffer.from(image, 'base64'));

  const job = {
    readings,
    alerts,
    deadLetters,
    groupId,
    workers: 2,
    rules: legacy.rules,
    state: { type: 'redis', url: REDIS_URL, prefix, snapshotInterval: '200ms' },
  };
  const summary = await runKafkaJob(t, job, (p) => p.stats.records >= lines.length - legacy.cut);
  assert.equal(summary.records, lines.length - legacy.cut, 'resumed at the snapshot, nothing read again');
  const config = rulesConfig(legacy.rules);
  const expected = new Shard(shardSetup(config)).process(linesTask(lines)).alerts.filter((alert) => alert.record >= legacy.cut);
  assert.ok(expected.length > 20);
  assertSameAlerts(
    (await readTopic(alerts, { count: expected.length })).map((r) => JSON.parse(r.value) as Record<string, unknown>),
    expected.map((alert) => JSON.parse(alert.text) as Record<string, unknown>),
    'after converting format-2 snapshots',
  );
  assert.equal(await redis.hget(key('meta'), 'format'), '3', 'the partition was written whole in the current format');
  for (const zoneId of Object.keys(legacy.zones)) {
    const image = await redis.getBuffer(key(`zone:${zoneId}`));
    assert.equal(image === null ? undefined : imageHeader(zoneId, image)[0], 3, `zone ${zoneId} rewritten`);
  }
  await redis.del(...(await redis.keys(`${prefix}:*`)));
});
