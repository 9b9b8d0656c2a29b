import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { createKafka, ensureTopic } from '../../src/io/kafka/client.js';
import { ReadingsProducer } from '../../src/io/kafka/readings-producer.js';

const run = promisify(execFile);

/** The broker `npm test` starts (services/up.sh). */
export const BROKERS = (process.env.KLAXON_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');

export function kafka(): Kafka {
  return createKafka(BROKERS, 'klaxon-test');
}

/**
 * A fresh topic name (and creates it), deleted after the test, together with
 * the rules topic an engine reading it makes (`<topic>.rules`), if any.
 */
export async function freshTopic(t: TestContext, prefix: string, partitions: number): Promise<string> {
  const topic = `${prefix}-${randomUUID().slice(0, 8)}`;
  await ensureTopic(kafka(), topic, partitions);
  await deleteTopicAfter(t, topic);
  await deleteTopicAfter(t, `${topic}.rules`);
  return topic;
}

/** Deletes a topic the test made (or made the engine make, such as its rules topic) when the test ends. */
export async function deleteTopicAfter(t: TestContext, topic: string): Promise<void> {
  t.after(async () => {
    const admin = kafka().admin();
    await admin.connect();
    // Only if it exists: kafkajs retries the delete of a missing topic for minutes (an engine may never have made its rules topic).
    if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });
}

export function freshGroup(): string {
  return `klaxon-test-${randomUUID().slice(0, 8)}`;
}

/** Produces lines in order, keyed by zone_id, each tagged with its 1-based line number in a `line` header. */
export async function produceLines(topic: string, lines: readonly (string | Buffer)[], partitions = 6): Promise<void> {
  const producer = await ReadingsProducer.connect(BROKERS, topic, partitions);
  try {
    for (let start = 0; start < lines.length; start += 2_000) {
      const chunk = lines.slice(start, start + 2_000);
      await producer.send(
        chunk.map((line, i) => ({
          value: Buffer.isBuffer(line) ? line : Buffer.from(line),
          headers: { line: String(start + i + 1) },
        })),
      );
    }
  } finally {
    await producer.close();
  }
}

/** Produces lines keyed by `keyOf(line)` instead of by zone (what a producer that keys by something else does). */
export async function produceKeyed(topic: string, lines: readonly string[], keyOf: (line: string) => string): Promise<void> {
  const producer = createKafka(BROKERS, 'klaxon-test-keyed').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = 0; start < lines.length; start += 2_000) {
      const messages = lines.slice(start, start + 2_000).map((line) => ({ key: keyOf(line), value: line }));
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface TopicRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning until it holds `count` records (and
 * nothing more arrives for a short while, so extras are seen too), or until
 * nothing new arrives for `quietMs` after the high watermarks were reached.
 * read_committed, so aborted transactional writes are not seen (and a
 * transactional topic's last offset is a commit marker, never a record).
 */
export async function readTopic(topic: string, options: { count?: number; quietMs?: number } = {}): Promise<TopicRecord[]> {
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const target = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const consumer = client.consumer({ groupId: freshGroup(), maxWaitTimeInMs: 100, readUncommitted: false });
  const records: TopicRecord[] = [];
  const reached = new Map<number, bigint>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let lastNew = Date.now();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      lastNew = Date.now();
      reached.set(partition, BigInt(message.offset) + 1n);
      records.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      });
    },
  });
  const quietMs = options.quietMs ?? 1_500;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const caughtUp = [...target].every(([p, high]) => high === 0n || (reached.get(p) ?? 0n) >= high);
    const quiet = Date.now() - lastNew;
    if (options.count !== undefined && records.length >= options.count && (caughtUp || quiet > 500)) break;
    if (options.count === undefined && quiet > quietMs && (caughtUp || quiet > 3 * quietMs)) break;
    if (Date.now() > deadline) throw new Error(`reading ${topic}: ${records.length} records after 60 s (wanted ${options.count ?? 'all'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await consumer.disconnect();
  return records;
}

/** Polls until `condition` holds (no fixed sleeps in tests). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Committed offsets of the job's group, summed over partitions, through one admin connection per test. */
export async function groupProgress(t: TestContext, groupId: string, topic: string): Promise<() => Promise<number>> {
  const admin = kafka().admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  return async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  };
}

const KAFKA_CLI = resolve(import.meta.dirname, '../../../services/kafka-cli.sh');

/**
 * A topic's records as Kafka's own console consumer sees them with
 * isolation.level=read_committed. kafkajs 2.2.4 filters aborted records with
 * one pointer into the aborted-transactions list, and lets some through when
 * several transactional producers interleave in one partition (seen here: a
 * dead-letter partition written by six partition transactions), so exactly-once
 * checks read through the broker's reference client.
 */
export async function readCommitted(topic: string, brokers: readonly string[] = BROKERS): Promise<Array<{ partition: number; offset: string; value: string }>> {
  const { stdout } = await run(
    'bash',
    [
      KAFKA_CLI,
      'console-consumer',
      '--bootstrap-server',
      brokers.join(','),
      '--topic',
      topic,
      '--from-beginning',
      '--isolation-level',
      'read_committed',
      '--property',
      'print.partition=true',
      '--property',
      'print.offset=true',
      '--timeout-ms',
      '5000',
    ],
    { maxBuffer: 1 << 30 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('Partition:'))
    .map((line) => {
      const [partition, offset, ...value] = line.split('\t');
      return { partition: Number(partition?.slice('Partition:'.length)), offset: offset?.slice('Offset:'.length) ?? '', value: value.join('\t') };
    });
}
