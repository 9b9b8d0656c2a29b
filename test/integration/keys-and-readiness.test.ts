/**
 * Two promises of the engine on the real broker and Redis. Readings not keyed
 * by their zone are counted, warned about once per partition, and with
 * `source.requireZoneKey` dead-lettered. And readiness and recovery do not
 * wait for data: a restart on a quiet topic is ready, and after
 * `klaxon state reset` a start rebuilds state at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEY_REASON } from '../../src/coordinator/router.js';
import { createKafka } from '../../src/io/kafka/client.js';
import { klaxon } from '../helpers/cli.js';
import { freshJob, generated, RULES, startEngine, writeJobConfig } from '../helpers/jobs.js';
import { BROKERS, freshGroup, freshTopic, groupProgress, produceLines, readTopic } from '../helpers/kafka.js';
import { runKafkaJob } from '../helpers/kafka-engine.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/run-engine.js';

/** Lines with no key (spread over the partitions by the client), and some keyed by their zone. */
async function produceUnkeyed(topic: string, lines: readonly string[], keyedEvery = 0): Promise<void> {
  const producer = createKafka(BROKERS, 'klaxon-test-unkeyed').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = 0; start < lines.length; start += 1_000) {
      const messages = lines.slice(start, start + 1_000).map((value, i) => {
        const keyed = keyedEvery > 0 && (start + i) % keyedEvery === 0;
        return { key: keyed ? ((JSON.parse(value) as { zone_id?: string }).zone_id ?? null) : null, value };
      });
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

test('readings not keyed by their zone: counted, warned about once per partition, summed up at the end', async (t) => {
  const lines = generated(6_000, 41).filter((line) => line.includes('"zone_id"') && !line.includes('\\'));
  const job = await freshJob(t);
  await produceUnkeyed(job.readings, lines);
  const dir = await tempDir(t);
  const config = await writeJobConfig(dir, job, 2);
  const committed = await groupProgress(t, job.groupId, job.readings);
  const engine = startEngine(config);
  t.after(() => engine.child.kill('SIGKILL'));
  await engine.started;
  await engine.waitFor(async () => (await committed()) >= lines.length, 'every record committed', 60_000);
  engine.child.kill('SIGTERM');
  assert.equal(await engine.exited, 0);
  const warnings = engine.stderr().match(/records whose key is not their zone_id/g) ?? [];
  const partitions = new Set((await readTopic(job.readings, { count: lines.length })).map((record) => record.partition));
  assert.equal(warnings.length, partitions.size, 'one warning per partition that has such records');
  assert.match(engine.stderr(), new RegExp(`${lines.length.toLocaleString('en-US')} records not keyed by their zone_id`));
});

test('source.requireZoneKey: records keyed by anything but their zone_id go to the dead letters with the reason; keyed ones are processed', async (t) => {
  const lines = generated(3_000, 42).filter((line) => line.includes('"zone_id"') && !line.includes('\\'));
  const readings = await freshTopic(t, 'readings', 6);
  const alerts = await freshTopic(t, 'alerts', 6);
  const deadLetters = await freshTopic(t, 'dead', 1);
  await produceUnkeyed(readings, lines, 3);
  const keyed = lines.filter((_, i) => i % 3 === 0).length;
  const summary = await runKafkaJob(
    t,
    { readings, alerts, deadLetters, groupId: freshGroup(), workers: 2, rules: RULES, source: { requireZoneKey: true } },
    (engine) => engine.stats.records >= lines.length,
  );
  assert.equal(summary.keyMismatches, lines.length - keyed);
  const dead = (await readTopic(deadLetters, { count: lines.length - keyed })).map((record) => JSON.parse(record.value) as { reason: string });
  assert.equal(dead.length, lines.length - keyed);
  assert.ok(dead.every((letter) => letter.reason === KEY_REASON));
  assert.equal(summary.accepted, keyed, 'only the keyed readings reached their zones');
});

test('a restart on a quiet topic is ready without new records; after `state reset` a start rebuilds state at once', async (t) => {
  const lines = generated(8_000, 43);
  const job = await freshJob(t);
  await produceLines(job.readings, lines);
  const dir = await tempDir(t);
  const port = await freePort();
  const config = await writeJobConfig(dir, job, 2, 'at-least-once', { http: { port, host: '127.0.0.1' } });
  const committed = await groupProgress(t, job.groupId, job.readings);
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const run = async (until: () => Promise<boolean>, what: string) => {
    const engine = startEngine(config);
    t.after(() => engine.child.kill('SIGKILL'));
    await engine.started;
    await engine.waitFor(until, what, 60_000);
    engine.child.kill('SIGTERM');
    assert.equal(await engine.exited, 0);
  };
  await run(async () => (await committed()) >= lines.length, 'the first run to commit everything');
  const alertsBefore = (await readTopic(job.alerts)).length;

  // No new records: ready anyway, its state recovered from the snapshots.
  await run(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => ({ status: 0 }))).status === 200, '/readyz on a quiet topic');
  // After a reset: the start replays the whole topic to rebuild state, without any new record and without writing old alerts.
  const reset = await klaxon(['state', 'reset', '--config', config]);
  assert.equal(reset.code, 0, reset.stderr);
  await run(async () => {
    const text = await metrics().catch(() => '');
    return metric(text, 'klaxon_ready') === 1 && metric(text, 'klaxon_readings_replayed_total') >= lines.length;
  }, 'the replay after a reset, with no new records');
  assert.equal((await readTopic(job.alerts)).length, alertsBefore, 'nothing written again');
});
