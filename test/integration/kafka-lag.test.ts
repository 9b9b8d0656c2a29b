/**
 * Consumer lag on the real broker: counted from the high watermarks of every
 * assigned partition, before any of them has delivered a batch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { KafkaSource } from '../../src/io/kafka/kafka-source.js';
import { recordCount } from '../../src/io/packed-records.js';
import { BROKERS, freshGroup, freshTopic, kafka, waitFor } from '../helpers/kafka.js';

const PARTITIONS = 6;
const PER_PARTITION = 1_000;
const COMMITTED_ON_0 = 400;

test('lag: every assigned partition counts from the start, from its commit or its first record, down to 0 when read', { timeout: 120_000 }, async (t) => {
  const topic = await freshTopic(t, 'lag', PARTITIONS);
  const groupId = freshGroup();
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const messages = Array.from({ length: PER_PARTITION }, (_, i) => ({ value: `{"zone_id":"z${partition}","n":${i}}` }));
    await producer.send({ topic, acks: -1, messages: messages.map((message) => ({ ...message, partition })) });
  }
  await producer.disconnect();
  // The group has read part of partition 0 before: it resumes there.
  const admin = kafka().admin();
  await admin.connect();
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: String(COMMITTED_ON_0) }] });
  await admin.disconnect();

  const config = parseConfig(
    {
      source: { type: 'kafka', brokers: BROKERS, topic, groupId, partitions: PARTITIONS },
      sink: { type: 'stdout' },
      rules: [{ id: 'x', type: 'threshold', above: 1 }],
    },
    { baseDir: '/' },
  );
  const source = await KafkaSource.connect(config.source as Extract<typeof config.source, { type: 'kafka' }>, config.engine);
  t.after(() => source.close());
  // Recovery held: no partition hands on a record until it is released.
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  source.partitions?.listen({ assigned: () => held, revoked: () => {} });
  const first = source.next();

  const backlog = PARTITIONS * PER_PARTITION - COMMITTED_ON_0;
  await waitFor(() => source.lag() === backlog, `lag ${backlog} before any batch (it is ${source.lag()})`, 30_000);
  const byPartition = source.lagByPartition();
  assert.equal(byPartition.size, PARTITIONS, 'every assigned partition');
  assert.equal(byPartition.get(0), PER_PARTITION - COMMITTED_ON_0, 'from the commit');
  assert.equal(byPartition.get(5), PER_PARTITION, 'from the first record');

  release();
  let read = 0;
  for (let batch = await first; batch !== null; batch = await source.next()) {
    read += recordCount(batch);
    if (read === backlog) break;
  }
  assert.equal(read, backlog);
  await waitFor(() => source.lag() === 0, `lag 0 once everything is read (it is ${source.lag()})`, 10_000);
});
