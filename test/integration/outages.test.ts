/**
 * Broker outages, on a broker and Redis of the test's own (paused with
 * SIGSTOP, stopped and started again) so that no other test is disturbed:
 * an engine rides them out with its guarantees intact, says so once in its
 * log, and is not ready meanwhile; `klaxon produce` delivers every line.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, ensureTopic } from '../../src/io/kafka/client.js';
import { ReadingsProducer, zoneKey } from '../../src/io/kafka/readings-producer.js';
import { klaxon } from '../helpers/cli.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { generated, RULES, startEngine } from '../helpers/jobs.js';
import { readCommitted } from '../helpers/kafka.js';
import { freePort } from '../helpers/ports.js';
import { type PrivateServices, privateServices } from '../helpers/private-services.js';
import { runOnLines, tempDir } from '../helpers/run-engine.js';

interface OutageJob {
  services: PrivateServices;
  /** Produces the rest of the lines, 2,000 a second (it waits out outages like any producer). */
  produceRest(): Promise<void>;
  config: string;
  lines: string[];
  expected: Array<Record<string, unknown>>;
  committed: () => Promise<number>;
  readyz: () => Promise<number>;
}

async function outageJob(t: TestContext, guarantee: 'exactly-once' | 'at-least-once'): Promise<OutageJob> {
  const services = await privateServices(t);
  const lines = generated(60_000, 31);
  const expected = (await runOnLines(t, lines, RULES, { workers: 1 })).alerts;
  const dir = await tempDir(t);
  const kafka = createKafka(services.brokers, 'klaxon-outage-test');
  for (const [topic, partitions] of [
    ['readings', 4],
    ['alerts', 4],
    ['dead', 1],
  ] as const) {
    await ensureTopic(kafka, topic, partitions);
  }
  // The first part is there at the start; the rest keeps arriving through the outages (produceRest).
  const producer = await ReadingsProducer.connect(services.brokers, 'readings', 4);
  const sendLines = async (from: number, to: number, perSecond: number) => {
    for (let start = from; start < to; start += 1_000) {
      await producer.send(lines.slice(start, Math.min(to, start + 1_000)).map((line) => ({ value: Buffer.from(line) })));
      if (perSecond > 0) await sleep((1_000 / perSecond) * 1_000);
    }
  };
  await sendLines(0, 20_000, 0);
  t.after(() => producer.close());
  const port = await freePort();
  const config = join(dir, 'engine.json');
  await writeFile(
    config,
    JSON.stringify({
      guarantee,
      engine: { workers: 2, batchSize: 200, instanceId: 'outage' },
      source: { type: 'kafka', brokers: services.brokers, topic: 'readings', groupId: 'outage', commitInterval: '200ms' },
      sink: { type: 'kafka', brokers: services.brokers, topic: 'alerts', transactionTimeout: '5s' },
      deadLetter: { type: 'kafka', brokers: services.brokers, topic: 'dead' },
      state: { type: 'redis', url: services.redisUrl, prefix: 'outage', snapshotInterval: '500ms' },
      http: { port, host: '127.0.0.1' },
      ...RULES,
    }),
  );
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  return {
    services,
    produceRest: () => sendLines(20_000, lines.length, 2_000),
    config,
    lines,
    expected,
    // While the broker is away or just back, the admin client's answers fail: that is "no progress yet".
    committed: async () => {
      try {
        const [offsets] = await admin.fetchOffsets({ groupId: 'outage', topics: ['readings'] });
        return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      } catch {
        return -1;
      }
    },
    readyz: async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => ({ status: 0 }))).status,
  };
}

test('exactly-once rides out a 12 s broker pause and a broker restart: not ready meanwhile, said once in the log, each alert once', async (t) => {
  const job = await outageJob(t, 'exactly-once');
  const engine = startEngine(job.config);
  t.after(() => engine.child.kill('SIGKILL'));
  await engine.started;
  const rest = job.produceRest();
  await engine.waitFor(async () => (await job.committed()) >= 25_000, 'progress before the pause', 60_000);

  await job.services.pauseKafka();
  // Longer than the transaction timeout (5 s) and the consumer's session (10 s): the broker aborts the open transactions.
  let notReady = false;
  for (let waited = 0; waited < 12_000; waited += 500) {
    await sleep(500);
    if ((await job.readyz()) === 503) notReady = true;
  }
  await job.services.resumeKafka();
  process.stderr.write('@@ broker resumed\n');
  await engine.waitFor(async () => (await job.committed()) >= 40_000, 'progress after the pause', 90_000);

  process.stderr.write('@@ broker restart\n');
  await job.services.stopKafka();
  await sleep(3_000);
  await job.services.startKafka();
  process.stderr.write('@@ broker back\n');
  await rest;
  await engine.waitFor(async () => (await job.committed()) >= job.lines.length, 'every reading after the restart', 120_000);
  await engine.waitFor(async () => (await job.readyz()) === 200, 'ready again', 30_000);
  engine.child.kill('SIGTERM');
  process.stderr.write('@@ stopping the engine\n');
  assert.equal(await engine.exited, 0, `a graceful stop after the outages exits 0: ${engine.stderr()}`);

  process.stderr.write('@@ reading alerts\n');
  const written = (await readCommitted('alerts', job.services.brokers)).map((record) => JSON.parse(record.value) as Record<string, unknown>);
  assertSameAlerts(written, job.expected, 'through a pause and a restart');
  assert.equal(written.length, job.expected.length, 'each alert_id+status once');
  process.stderr.write('@@ alerts checked\n');
  assert.ok(notReady, '/readyz said 503 during the outage');
  // Two outages (the pause, the restart): at most one line each, however many retries.
  const outageLines = engine.stderr().match(/Kafka is unreachable/g) ?? [];
  assert.ok(outageLines.length >= 1 && outageLines.length <= 2, `the outage is logged once per outage, not per retry: ${outageLines.length}`);
  assert.equal(outageLines.length, (engine.stderr().match(/Kafka answers again/g) ?? []).length, 'and its end once');
});

test('klaxon produce rides out a broker pause: every line delivered, once, in order', async (t) => {
  const services = await privateServices(t);
  const dir = await tempDir(t);
  const lines = generated(150_000, 32);
  const file = join(dir, 'readings.ndjson');
  await writeFile(file, lines.map((line) => `${line}\n`).join(''));
  const produce = klaxon(['produce', '--brokers', services.brokers.join(','), '--topic', 'produced', '--partitions', '3', '--file', file, '--rate', '15000'], {
    timeoutMs: 180_000,
  });
  await sleep(3_000);
  await services.pauseKafka();
  await sleep(12_000);
  await services.resumeKafka();
  const result = await produce;
  assert.equal(result.code, 0, result.stderr);
  const delivered = await readCommitted('produced', services.brokers);
  assert.equal(delivered.length, lines.length, 'every line, and no line twice');
  // Lines without a plain zone_id are sent unkeyed, to any partition: only keyed lines have an order to keep.
  const byZoneInOrder = (values: string[]) => {
    const zones = new Map<string, string[]>();
    for (const value of values) {
      const zone = zoneKey(Buffer.from(value))?.toString();
      if (zone !== undefined) zones.set(zone, [...(zones.get(zone) ?? []), value]);
    }
    return zones;
  };
  // Each zone's lines in file order (one zone, one partition).
  assert.deepEqual(
    byZoneInOrder([...delivered].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset)).map((record) => record.value)),
    byZoneInOrder(lines),
  );
});
