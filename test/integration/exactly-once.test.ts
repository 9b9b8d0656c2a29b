/**
 * Exactly-once through the changes operators make every day, on the real
 * broker and Redis: engine processes joining and leaving one consumer group
 * while readings arrive, gracefully and by kill -9. A read_committed reader
 * of the alerts topic must see every contract alert exactly once, and every
 * dead letter exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSameAlerts } from '../helpers/compare.js';
import { type EngineChild, freshJob, generated, RULES, startEngine, writeJobConfig } from '../helpers/jobs.js';
import { groupProgress, produceLines, readCommitted, readTopic, waitFor } from '../helpers/kafka.js';
import { runOnLines, tempDir } from '../helpers/run-engine.js';

test('exactly-once through joins, graceful leaves and kill -9 of three engine processes under load: each alert and dead letter once', async (t) => {
  const lines = generated(120_000, 21);
  const reference = await runOnLines(t, lines, RULES, { workers: 1 });
  const job = await freshJob(t);
  const dir = await tempDir(t);
  const config = await writeJobConfig(dir, job, 2, 'exactly-once');
  const committed = await groupProgress(t, job.groupId, job.readings);
  const engines = new Map<string, EngineChild>();
  const start = async (name: string) => {
    const engine = startEngine(config, { KLAXON_INSTANCE_ID: name });
    engines.set(name, engine);
    await engine.started;
  };
  t.after(() => {
    for (const engine of engines.values()) engine.child.kill('SIGKILL');
  });
  const fifth = lines.length / 5;
  // Readings keep arriving while members come and go: each step produces a fifth of the stream.
  const produceFifth = (k: number) => produceLines(job.readings, lines.slice(k * fifth, (k + 1) * fifth));
  const progress = (target: number, what: string) => waitFor(async () => (await committed()) >= target, what, 90_000);

  await start('a');
  await produceFifth(0);
  await progress(0.5 * fifth, 'a alone to make progress');
  await start('b');
  await produceFifth(1);
  await progress(1.3 * fifth, 'a and b to make progress');
  await start('c');
  await produceFifth(2);
  await progress(2.3 * fifth, 'three members to make progress');
  // b leaves gracefully, then c is killed in the middle of its work.
  engines.get('b')?.child.kill('SIGTERM');
  assert.equal(await engines.get('b')?.exited, 0, 'a graceful leave exits 0');
  // Half of this fifth before the kill of c, half after it: records still arrive when c dies, however fast
  // the machine (with the whole fifth sent first, a fast c could be idle, its work done, when killed).
  await produceLines(job.readings, lines.slice(3 * fifth, 3.5 * fifth));
  await progress(3.2 * fifth, 'a and c after b left');
  engines.get('c')?.child.kill('SIGKILL');
  await engines.get('c')?.exited;
  await produceLines(job.readings, lines.slice(3.5 * fifth, 4 * fifth));
  await start('b');
  await produceFifth(4);
  await progress(lines.length, 'every reading committed');
  for (const name of ['a', 'b']) engines.get(name)?.child.kill('SIGTERM');
  for (const name of ['a', 'b']) assert.equal(await engines.get(name)?.exited, 0, `${name} stops cleanly`);

  // Read through Kafka's own client: kafkajs lets some aborted records through (see readCommitted).
  const written = (await readCommitted(job.alerts)).map((record) => JSON.parse(record.value) as Record<string, unknown>);
  assertSameAlerts(written, reference.alerts, 'exactly-once through rebalances');
  assert.equal(written.length, reference.alerts.length, 'each alert_id+status exactly once');
  const positions = (await readCommitted(job.deadLetters)).map((record) => {
    const { source } = JSON.parse(record.value) as { source: { partition: number; offset: string } };
    return `${source.partition}/${source.offset}`;
  });
  const repeated = positions.filter((position, i) => positions.indexOf(position) !== i);
  assert.deepEqual(repeated, [], 'no dead letter twice');
  assert.equal(positions.length, reference.deadLetters.length, 'every dead letter');
  const viaKafkajs = await readTopic(job.deadLetters, { count: reference.deadLetters.length });
  t.diagnostic(`kafkajs read_committed saw ${viaKafkajs.length} dead letters where Kafka's client sees ${positions.length}`);
});
