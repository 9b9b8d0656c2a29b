/**
 * Kafka in and out on the real broker that services/up.sh starts (npm test
 * runs it first). Each test uses its own topics and consumer group.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Plant } from '../../src/io/generator/readings.js';
import { recordDecoderCounts, useRecordDecoder } from '../../src/io/kafka/record-batch-decoder.js';
import { CLI } from '../helpers/cli.js';
import { assertSameAlerts, assertZoneOrder } from '../helpers/compare.js';
import { freshGroup, freshTopic, groupProgress, produceLines, readTopic, type TopicRecord, waitFor } from '../helpers/kafka.js';
import { kafkaConfig, runKafkaJob } from '../helpers/kafka-engine.js';
import { tempDir } from '../helpers/run-engine.js';
import { readSample } from '../helpers/samples.js';

/** Maps each dead letter's {partition, offset} back to the line number the test producer tagged it with. */
function deadLetterLines(dead: TopicRecord[], readings: TopicRecord[]): number[] {
  const lineAt = new Map(readings.map((r) => [`${r.partition}/${r.offset}`, Number(r.headers.line)]));
  return dead
    .map((d) => {
      const { source } = JSON.parse(d.value) as { source: { partition: number; offset: string } };
      return lineAt.get(`${source.partition}/${source.offset}`) as number;
    })
    .sort((a, b) => a - b);
}

describe('samples through a 6-partition topic give exactly the contract alerts', () => {
  test('sample-v2 (versions from the config), 3 workers: alerts and shadow alerts in their own topics', async (t) => {
    const data = await readSample('sample-v2');
    const readings = await freshTopic(t, 'readings', 6);
    const alerts = await freshTopic(t, 'alerts', 6);
    const shadow = await freshTopic(t, 'shadow', 6);
    const deadLetters = await freshTopic(t, 'dead', 1);
    await produceLines(readings, data.lines);
    const job = { readings, alerts, shadow, deadLetters, groupId: freshGroup(), workers: 3, rules: data.rules };
    await runKafkaJob(t, job, (p) => p.stats.records >= data.lines.length);
    const main = data.alerts.filter((alert) => alert.shadow !== true);
    const shadowed = data.alerts.filter((alert) => alert.shadow === true);
    assertSameAlerts(
      (await readTopic(alerts, { count: main.length })).map((r) => JSON.parse(r.value) as Record<string, unknown>),
      main,
      'sample-v2 via kafka',
    );
    assertSameAlerts(
      (await readTopic(shadow, { count: shadowed.length })).map((r) => JSON.parse(r.value) as Record<string, unknown>),
      shadowed,
      'sample-v2 shadow via kafka',
    );
  });

  // The record decoder (source.recordDecoder): Klaxon's by default, kafkajs's when chosen; the same alerts either way.
  for (const [name, workers, recordDecoder] of [
    ['sample-a', 1, 'klaxon'],
    ['sample-a', 3, 'klaxon'],
    ['sample-b', 1, 'kafkajs'],
    ['sample-b', 3, 'klaxon'],
  ] as const) {
    test(`${name}, ${workers} worker${workers > 1 ? 's' : ''}${recordDecoder === 'kafkajs' ? ", kafkajs's record decoder" : ''}`, async (t) => {
      const data = await readSample(name);
      const readings = await freshTopic(t, 'readings', 6);
      const alerts = await freshTopic(t, 'alerts', 6);
      const deadLetters = await freshTopic(t, 'dead', 1);
      await produceLines(readings, data.lines);
      const decodedBefore = recordDecoderCounts.usual;
      const summary = await runKafkaJob(
        t,
        { readings, alerts, deadLetters, groupId: freshGroup(), workers, rules: data.rules, source: { recordDecoder } },
        (p) => p.stats.records >= data.lines.length,
      );
      assert.equal(summary.records, data.lines.length);
      if (recordDecoder === 'klaxon') assert.ok(recordDecoderCounts.usual > decodedBefore, "the engine's fetches went through Klaxon's decoder");
      else assert.equal(recordDecoderCounts.usual, decodedBefore, "kafkajs's decoder chosen: Klaxon's read no batch");
      useRecordDecoder('klaxon');
      const written = await readTopic(alerts, { count: data.alerts.length });
      const parsed = written.map((r) => JSON.parse(r.value) as Record<string, unknown>);
      assertSameAlerts(parsed, data.alerts, `${name} via kafka`);
      for (const record of written) assert.equal(record.key, JSON.parse(record.value).zone_id, 'alerts are keyed by zone_id');
      // Within a zone (one partition of the alerts topic), alerts keep reading order.
      for (let p = 0; p < 6; p++) assertZoneOrder(written.filter((r) => r.partition === p).map((r) => JSON.parse(r.value)));
      const dead = await readTopic(deadLetters, { count: data.deadLines.length });
      assert.deepEqual(deadLetterLines(dead, await readTopic(readings, { count: data.lines.length })), data.deadLines);
    });
  }
});

test('garbage bytes, empty and huge values become dead letters; readings without ts take the record time', async (t) => {
  const readings = await freshTopic(t, 'readings', 3);
  const alerts = await freshTopic(t, 'alerts', 3);
  const deadLetters = await freshTopic(t, 'dead', 1);
  // Invalid (temperature is a string) and far over 64 KiB.
  const huge = `{"zone_id":"h","device_id":"d","temperature":"hot","pad":"${'x'.repeat(300_000)}"}`;
  const lines: Array<string | Buffer> = [
    Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80]),
    Buffer.alloc(0),
    huge,
    '{"zone_id":"q","device_id":"d","temperature":95}',
    Buffer.from('{"zone_id":"q\xff","device_id":"d","temperature":95}', 'latin1'),
    '{"zone_id":"q","device_id":"d","temperature":50,"ts":1700000000000}',
  ];
  const before = Date.now();
  await produceLines(readings, lines, 3);
  const rules = { rules: [{ id: 'hot', type: 'threshold', above: 89 }] };
  await runKafkaJob(t, { readings, alerts, deadLetters, groupId: freshGroup(), workers: 2, rules }, (p) => p.stats.records >= lines.length);
  const dead = (await readTopic(deadLetters, { count: 4 })).map((r) => JSON.parse(r.value) as { reason: string; raw: string });
  const reasons = dead.map((d) => d.reason).sort();
  assert.deepEqual(reasons, ['not valid JSON', 'not valid UTF-8', 'not valid UTF-8', 'temperature: expected a finite number']);
  const cut = dead.find((d) => d.raw.startsWith('{"zone_id":"h"'));
  assert.ok(cut !== undefined && Buffer.byteLength(cut.raw) <= 65_536 && Buffer.byteLength(cut.raw) > 60_000, 'huge raw is cut at 64 KiB');
  const fired = (await readTopic(alerts, { count: 2 })).map((r) => JSON.parse(r.value) as { status: string; ts: number; seq: number });
  assert.deepEqual(
    fired.map((a) => `${a.seq}/${a.status}`),
    ['1/firing', '2/resolved'],
  );
  assert.ok((fired[0] as { ts: number }).ts >= before - 5_000 && (fired[0] as { ts: number }).ts <= Date.now(), 'ts defaults to the record timestamp');
});

test('restart without a state store: a graceful stop commits exactly what it processed, and the next run goes on from there', async (t) => {
  const data = await readSample('sample-a');
  const readings = await freshTopic(t, 'readings', 6);
  const alerts = await freshTopic(t, 'alerts', 6);
  const deadLetters = await freshTopic(t, 'dead', 1);
  const groupId = freshGroup();
  // Only the first half is there for the first run (stopped once it read a third, or all of its half on a fast
  // machine); the rest is sent after the stop, so the second run always has records to go on with.
  const half = Math.floor(data.lines.length / 2);
  await produceLines(readings, data.lines.slice(0, half));
  const job = { readings, alerts, deadLetters, groupId, workers: 2, rules: data.rules };
  const committed = await groupProgress(t, groupId, readings);
  const first = await runKafkaJob(t, job, (p) => p.stats.records >= data.lines.length / 3);
  assert.equal(await committed(), first.records, 'a graceful stop commits every record it processed');
  // The first run saw every zone from its first reading: what it wrote is exactly contract alerts.
  const expected = new Map(data.alerts.map((a) => [`${a.alert_id}|${a.status}`, a]));
  const firstAlerts = (await readTopic(alerts)).map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assert.ok(firstAlerts.length > 100);
  assertSameAlerts(
    firstAlerts,
    firstAlerts.map((a) => expected.get(`${a.alert_id}|${a.status}`) ?? { missing: a.alert_id }),
    'first run',
  );
  await produceLines(readings, data.lines.slice(half));
  const second = await runKafkaJob(t, job, (p) => p.stats.records >= data.lines.length - first.records);
  assert.equal(second.records, data.lines.length - first.records, 'nothing read twice after a graceful stop');
  assert.equal(await committed(), data.lines.length);
  // Without a state store the second run began with empty zones, so its alerts are not the
  // contract's (seq starts again at 1): that is what the Redis state store exists to prevent.
});

test('kill -9 without a state store: the restart reads again exactly what was not committed (at-least-once)', async (t) => {
  const plant = new Plant({ zones: 500, devicesPerZone: 2, seed: 3, spikeRate: 0.002, heatWaveRate: 0.0003, badRate: 0 });
  const lines = Array.from({ length: 300_000 }, (_, i) => plant.next(1_760_000_000_000 + i * 2).line);
  const readings = await freshTopic(t, 'readings', 6);
  const alerts = await freshTopic(t, 'alerts', 6);
  const deadLetters = await freshTopic(t, 'dead', 1);
  const groupId = freshGroup();
  await produceLines(readings, lines);
  const rules = { rules: [{ id: 'hot', type: 'threshold', above: 89 }] };
  const job = { readings, alerts, deadLetters, groupId, workers: 2, rules };
  const dir = await tempDir(t);
  const configPath = join(dir, 'kafka.json');
  await writeFile(configPath, JSON.stringify({ ...rawConfig(kafkaConfig(job)), ...rules }));
  const committed = await groupProgress(t, groupId, readings);
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { stdio: 'ignore' });
  await waitFor(async () => (await committed()) > 5_000, 'the child engine to commit progress', 60_000);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const atCrash = await committed();
  assert.ok(atCrash < lines.length, `killed before the end (committed ${atCrash})`);
  const rest = await runKafkaJob(t, job, (p) => p.stats.records >= lines.length - atCrash);
  assert.equal(rest.records, lines.length - atCrash, 'the restart reads exactly what was not committed');
  assert.equal(await committed(), lines.length);
});

/** A normalised config back to its JSON form, for a child process. */
function rawConfig(config: ReturnType<typeof kafkaConfig>) {
  const { source, sink, deadLetter, engine } = config;
  if (source.type !== 'kafka' || sink.type !== 'kafka' || deadLetter.type !== 'kafka') throw new Error('kafka config expected');
  return {
    engine,
    source: { type: 'kafka', brokers: source.brokers, topic: source.topic, groupId: source.groupId, commitInterval: source.commitIntervalMs },
    sink: { type: 'kafka', brokers: sink.brokers, topic: sink.topic },
    deadLetter: { type: 'kafka', brokers: deadLetter.brokers, topic: deadLetter.topic },
  };
}
