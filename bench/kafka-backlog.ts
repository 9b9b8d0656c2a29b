/**
 * A backlog in a topic and the ways the benches time its consumption: the
 * producer that fills it, the plain kafkajs consumer that sets the ceiling,
 * a polled counter with a progress line, and the group's committed offsets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer as PlatformaticConsumer } from '@platformatic/kafka';
import type { Admin, Kafka } from 'kafkajs';
import { CONSUMER_SETTINGS } from '../src/io/kafka/options.js';
import { ReadingsProducer } from '../src/io/kafka/readings-producer.js';
import { type RecordDecoderChoice, useRecordDecoder } from '../src/io/kafka/record-batch-decoder.js';
import { BENCH_DIR } from './environment.js';

export const PRODUCE_BATCH = 2_000;

/** Seen by polling a counter until it reached the total. */
export interface Seen {
  /** performance.now() when the counter first moved, and its value then. */
  firstAt: number;
  firstCount: number;
  /** performance.now() when it reached the total. */
  lastAt: number;
}

export interface Timing {
  /** First records seen → last record seen (the steady state). */
  seconds: number;
  /** Start (connect, group join, …) → last record seen. */
  secondsWithStart: number;
  /** Records already there at the first look (they came with the first fetch, or the first commit). */
  recordsAtFirstLook: number;
  /** Over `seconds`: the records that arrived after the first look. */
  readingsPerSecond: number;
  /** CPU time of this process per record, from start to the last record (plain consumers only: they run in the bench process). */
  cpuNsPerRecord?: number;
}

/** The broker version services/up.sh runs, as pinned in its Maven pom. */
export function kafkaVersion(): string {
  const pom = readFileSync(join(BENCH_DIR, '../services/kafka/pom.xml'), 'utf8');
  return /<kafka\.version>([^<]+)</.exec(pom)?.[1] ?? 'unknown';
}

/**
 * Produces `count` lines keyed by zone (creating the topic with `partitions`
 * partitions) as fast as the producer goes; the next batch is built while one
 * is on the wire.
 */
export async function produceBacklog(
  brokers: string[],
  topic: string,
  partitions: number,
  count: number,
  line: (i: number) => string,
  progress?: (label: string, count: () => number, total: number) => () => void,
): Promise<{ seconds: number; readingsPerSecond: number }> {
  const batchFrom = (start: number) => Array.from({ length: Math.min(PRODUCE_BATCH, count - start) }, (_, j) => ({ value: Buffer.from(line(start + j)) }));
  const producer = await ReadingsProducer.connect(brokers, topic, partitions);
  let sent = 0;
  const stopProgress = progress?.('produce', () => sent, count) ?? (() => {});
  const started = performance.now();
  try {
    for (let batch = batchFrom(0); batch.length > 0; ) {
      const sending = producer.send(batch);
      const next = batchFrom(sent + batch.length);
      await sending;
      sent += batch.length;
      batch = next;
    }
  } finally {
    stopProgress();
    await producer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, readingsPerSecond: Math.round(count / seconds) };
}

/** The ceiling: a consumer that only counts the backlog and resolves offsets, with the engine's fetch settings. */
/**
 * A plain kafkajs consumer that only counts: the ceiling. With kafkajs's own
 * record decoder unless told otherwise, as a plain kafkajs consumer has it
 * (the bench process imports Klaxon's, which would take its place).
 */
export async function plainConsume(
  kafka: Kafka,
  topic: string,
  groupId: string,
  total: number,
  label: string,
  log: (line: string) => void,
  decoder: RecordDecoderChoice = 'kafkajs',
): Promise<Timing> {
  useRecordDecoder(decoder);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const consumer = kafka.consumer({ groupId, ...CONSUMER_SETTINGS });
  let count = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        count += batch.messages.length;
        resolveOffset(batch.lastOffset());
      },
    });
    const result = { ...timing(started, await watchCount({ label, total, count: () => count, log }), total), cpuNsPerRecord: cpuNs(cpu, total) };
    log(`${label}: ${result.readingsPerSecond.toLocaleString('en-US')} readings/s, ${result.cpuNsPerRecord} ns of CPU per record`);
    return result;
  } finally {
    await consumer.disconnect();
    useRecordDecoder('klaxon');
  }
}

/** One plain consumer's run over a topic: a fresh group that reads `total` records. */
export interface PlainRun {
  brokers: string[];
  topic: string;
  groupId: string;
  total: number;
  label: string;
  log: (line: string) => void;
}

/**
 * The same with @platformatic/kafka (a consumer-group member, fetch sizes as
 * the engine's, buffers as they come: no deserialising), to compare its
 * fetch and decode cost with kafkajs's on the same backlog.
 */
export async function plainConsumePlatformatic({ brokers, topic, groupId, total, label, log }: PlainRun): Promise<Timing> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const consumer = new PlatformaticConsumer({
    groupId,
    clientId: 'klaxon-bench',
    bootstrapBrokers: brokers,
    sessionTimeout: CONSUMER_SETTINGS.sessionTimeout,
    rebalanceTimeout: CONSUMER_SETTINGS.rebalanceTimeout,
    heartbeatInterval: CONSUMER_SETTINGS.heartbeatInterval,
  });
  let count = 0;
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: CONSUMER_SETTINGS.maxWaitTimeInMs,
      maxBytesPerPartition: CONSUMER_SETTINGS.maxBytesPerPartition,
      maxBytes: 10 << 20,
    });
    stream.on('data', () => {
      count++;
    });
    const result = { ...timing(started, await watchCount({ label, total, count: () => count, log }), total), cpuNsPerRecord: cpuNs(cpu, total) };
    log(`${label}: ${result.readingsPerSecond.toLocaleString('en-US')} readings/s, ${result.cpuNsPerRecord} ns of CPU per record`);
    await stream.close();
    return result;
  } finally {
    await consumer.close(true);
  }
}

export function cpuNs(since: NodeJS.CpuUsage, records: number): number {
  const used = process.cpuUsage(since);
  return Math.round(((used.user + used.system) * 1000) / records);
}

export interface Watch {
  label: string;
  total: number;
  count: () => number | Promise<number>;
  log: (line: string) => void;
  /** How often to look (default 10 ms). */
  pollMs?: number;
  /** Give up after this long without progress (default 60 s). */
  stallMs?: number;
  /** An error to stop with (e.g. the engine exited), or undefined. */
  failed?: () => unknown;
}

/**
 * Polls a counter until it reaches the total, with a progress line each
 * second: when it first moved (and to what) and when it got there.
 * Polling, not a hook, so the plain consumer and the engine are timed the
 * same way.
 */
export async function watchCount(w: Watch): Promise<Seen> {
  const [pollMs, stallMs] = [w.pollMs ?? 10, w.stallMs ?? 60_000];
  let latest = 0;
  const stopProgress = showProgress(w.label, () => latest, w.total, w.log);
  let first: { at: number; count: number } | undefined;
  let lastMove = performance.now();
  try {
    for (;;) {
      const seen = await w.count();
      const now = performance.now();
      if (seen > 0) first ??= { at: now, count: seen };
      if (first !== undefined && seen >= w.total) return { firstAt: first.at, firstCount: first.count, lastAt: now };
      const error = w.failed?.();
      if (error !== undefined) throw error;
      if (seen > latest) [latest, lastMove] = [seen, now];
      if (now - lastMove > stallMs) throw new Error(`${w.label}: stuck at ${seen} of ${w.total} records for ${stallMs / 1000} s`);
      await sleep(pollMs);
    }
  } finally {
    stopProgress();
  }
}

/** A progress line each second (rewritten in place on a terminal, else one line each 5 s); returns the function that stops it. */
export function showProgress(label: string, count: () => number, total: number, log: (line: string) => void): () => void {
  let printed = 0;
  let printedAt = performance.now();
  let ticks = 0;
  const timer = setInterval(() => {
    const [seen, now] = [count(), performance.now()];
    const rate = Math.round(((seen - printed) * 1000) / (now - printedAt));
    const line = `${label}: ${seen.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} (${rate.toLocaleString('en-US')}/s)`;
    if (process.stderr.isTTY) process.stderr.write(`\r\u001b[2K${line}`);
    else if (++ticks % 5 === 0) log(line);
    [printed, printedAt] = [seen, now];
  }, 1_000);
  return () => {
    clearInterval(timer);
    if (process.stderr.isTTY) process.stderr.write('\r\u001b[2K');
  };
}

// The records already there at the first look came with the first fetch (or commit), whose time is not in `seconds`: they do not count.
export function timing(started: number, seen: Seen, total: number): Timing {
  const seconds = (seen.lastAt - seen.firstAt) / 1000;
  return {
    seconds,
    secondsWithStart: (seen.lastAt - started) / 1000,
    recordsAtFirstLook: seen.firstCount,
    readingsPerSecond: Math.round((total - seen.firstCount) / seconds),
  };
}

/** Records in a topic (high minus low watermark over its partitions). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Records of `topic` the group has committed, and the topic's end: lag = end − committed. */
export async function committed(admin: Admin, groupId: string, topic: string): Promise<{ committed: number; end: number }> {
  const [ends, [offsets]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  return {
    committed: (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0),
    end: ends.reduce((sum, e) => sum + Number(e.high), 0),
  };
}

/** Between phases: collect the previous phase's garbage and let the broker finish its writes, so phases do not tax each other. */
export async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(1_000);
}
