/**
 * The Kafka sink against the real broker's message size limit (1 MiB a
 * partition's batch by default): one write far larger than that still goes
 * out, in requests the broker takes; a record the broker refuses for good
 * stops the sink with the reason instead of retrying for ever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaSinkConfig } from '../../src/config/types.js';
import { KafkaSink } from '../../src/io/kafka/kafka-sink.js';
import { BROKERS, freshTopic, readTopic } from '../helpers/kafka.js';

function sinkConfig(topic: string): KafkaSinkConfig {
  return { type: 'kafka', brokers: BROKERS, topic, clientId: 'klaxon-test', partitions: 1, lingerMs: 5, transactionTimeoutMs: 30_000 };
}

test('one write of 3 MB to one partition: delivered whole and in order, in requests the broker takes', { timeout: 120_000 }, async (t) => {
  const topic = await freshTopic(t, 'big-write', 1);
  const sink = await KafkaSink.connect(sinkConfig(topic), 'alerts');
  const filler = 'x'.repeat(480);
  const records = Array.from({ length: 6_000 }, (_, i) => ({ key: 'zone-1', value: JSON.stringify({ n: i, filler }) }));
  try {
    sink.write(records);
    await sink.flush();
  } finally {
    await sink.close();
  }
  const read = await readTopic(topic, { count: records.length });
  assert.equal(read.length, records.length);
  assert.deepEqual(
    read.map((r) => (JSON.parse(r.value) as { n: number }).n),
    records.map((_, i) => i),
  );
});

test('a record over the broker’s size limit stops the sink, naming why, instead of retrying for ever', { timeout: 120_000 }, async (t) => {
  const topic = await freshTopic(t, 'too-large', 1);
  const sink = await KafkaSink.connect(sinkConfig(topic), 'dead-letters');
  try {
    sink.write([{ key: '', value: 'y'.repeat(2 << 20) }]);
    await assert.rejects(sink.flush(), (error: Error & { cause?: { type?: string } }) => {
      assert.match(error.message, /cannot write to Kafka topic too-large-/);
      assert.equal(error.cause?.type, 'MESSAGE_TOO_LARGE');
      return true;
    });
  } finally {
    await sink.close().catch(() => {});
  }
});
