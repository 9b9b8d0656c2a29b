/**
 * Engine throughput with Kafka on both sides: readings topic → engine (N
 * workers) → alerts topic, against the ceiling of a plain kafkajs consumer
 * that only counts the same backlog with the same fetch settings. The plain
 * consumer runs before and after the engine runs, in the same process run,
 * so the ratios compare like with like on a shared, noisy machine.
 *
 *   npm run bench:kafka -- [--readings N] [--zones N] [--workers 1,2] [--partitions 6]
 *
 * Starts the local broker (services/up.sh) if needed; every topic it creates
 * is deleted at the end, also after a failure or Ctrl-C.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import type { KlaxonConfig } from '../src/config/types.js';
import { runEngine } from '../src/coordinator/engine.js';
import type { Pipeline } from '../src/coordinator/pipeline.js';
import type { RunSummary } from '../src/coordinator/stats.js';
import { createKafka } from '../src/io/kafka/client.js';
import { CONSUMER_SETTINGS } from '../src/io/kafka/kafka-source.js';
import { ReadingsProducer } from '../src/io/kafka/readings-producer.js';
import { BENCH_DIR, environment, OUT_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { benchPlant, readingTs } from './make-stream.js';
import { DEFAULT_RULES } from './rules.js';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '1000000' },
    zones: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1,2' },
    partitions: { type: 'string', default: '6' },
  },
});
const readings = Number(values.readings);
const zones = Number(values.zones);
const workerCounts = values.workers.split(',').map(Number);
const partitions = Number(values.partitions);

/** Same rules as bench/throughput.ts, so the two benches differ only in the I/O. */
const RULES = DEFAULT_RULES;

/** The engine's own consumer settings, so the ceiling fetches exactly as the engine does. */
const SOURCE_CONSUMER = CONSUMER_SETTINGS;

const PRODUCE_BATCH = 2_000;
const POLL_MS = 10;
const STALL_MS = 60_000;

interface Timing {
  /** First records seen → last record seen (the steady state). */
  seconds: number;
  /** Start (connect, group join, …) → last record seen. */
  secondsWithStart: number;
  /** Records already there at the first look (they came with the first fetch). */
  recordsAtFirstLook: number;
  /** Over `seconds`: the records that arrived after the first look. */
  readingsPerSecond: number;
}

interface EngineResult extends Timing {
  workers: number;
  /** Last record taken → graceful stop done (alerts flushed, offsets committed). */
  drainSeconds: number;
  /** Alerts the sink topic holds, to check against the engine's own count. */
  alertsInTopic: number;
  engine: KlaxonConfig['engine'];
  summary: RunSummary;
}

const { brokers } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const runTag = randomUUID().slice(0, 8);
const createdTopics: string[] = [];

await runBench('kafka bench', main, deleteTopics);

async function main(): Promise<void> {
  const started = performance.now();
  const readingsTopic = topicName('readings');
  const produce = await produceReadings(readingsTopic);
  log(`produced ${readings.toLocaleString('en-US')} readings at ${produce.readingsPerSecond.toLocaleString('en-US')}/s`);

  await settle();
  const plainBefore = await plainConsume(readingsTopic, 'before');
  const engineRuns: EngineResult[] = [];
  for (const workers of workerCounts) {
    await settle();
    engineRuns.push(await engineRun(readingsTopic, workers));
  }
  await settle();
  const plainAfter = await plainConsume(readingsTopic, 'after');
  const totalSeconds = (performance.now() - started) / 1000;

  const settings = { readings, zones, partitions, workers: workerCounts, produceBatch: PRODUCE_BATCH, consumer: SOURCE_CONSUMER, ...RULES };
  const broker = { version: kafkaVersion(), brokers, mode: 'KRaft, single node' };
  const markdown = report({ produce, plainBefore, plainAfter, engineRuns, totalSeconds });
  writeResult(
    'kafka-throughput',
    { environment: environment(), broker, settings, produce, plainBefore, plainAfter, engineRuns, totalSeconds },
    markdown,
  );
  process.stdout.write(`${markdown}\n`);
}

/** Starts Redis and the broker if they are not up (fast when they are); returns the broker list. */
/** The broker version services/up.sh runs, as pinned in its Maven pom. */
function kafkaVersion(): string {
  const pom = readFileSync(join(BENCH_DIR, '../services/kafka/pom.xml'), 'utf8');
  return /<kafka\.version>([^<]+)</.exec(pom)?.[1] ?? 'unknown';
}

/** A unique topic name, remembered for deletion (before the topic exists, so a failure while creating it is covered). */
function topicName(what: string): string {
  const name = groupName(what);
  createdTopics.push(name);
  return name;
}

/** A unique name: a fresh consumer group starts from the beginning. */
function groupName(what: string): string {
  return `klaxon-bench-${runTag}-${what}`;
}

/** Produces the generated readings as fast as the producer goes; the next batch is generated while one is on the wire. */
async function produceReadings(topic: string): Promise<{ seconds: number; readingsPerSecond: number }> {
  const plant = benchPlant({ zones, seed: 7 });
  const batchFrom = (start: number) =>
    Array.from({ length: Math.min(PRODUCE_BATCH, readings - start) }, (_, j) => ({
      value: Buffer.from(plant.next(readingTs(start + j, zones)).line),
    }));
  // Creates the topic with `partitions` partitions.
  const producer = await ReadingsProducer.connect(brokers, topic, partitions);
  let sent = 0;
  const stopProgress = showProgress('produce', () => sent);
  const started = performance.now();
  try {
    for (let batch = batchFrom(0); batch.length > 0; ) {
      const sending = producer.send(batch);
      const next = batchFrom(sent + batch.length);
      await sending;
      sent += batch.length;
      batch = next;
    }
    const seconds = (performance.now() - started) / 1000;
    return { seconds, readingsPerSecond: Math.round(readings / seconds) };
  } finally {
    stopProgress();
    await producer.close();
  }
}

/** The ceiling: a consumer that only counts the backlog and resolves offsets, with the engine's fetch settings. */
async function plainConsume(topic: string, when: 'before' | 'after'): Promise<Timing> {
  const started = performance.now();
  const consumer = kafka.consumer({ groupId: groupName(`plain-${when}`), ...SOURCE_CONSUMER });
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
    const result = timing(started, await watchCount(`plain consumer (${when})`, () => count));
    log(`plain consumer (${when}): ${result.readingsPerSecond.toLocaleString('en-US')} readings/s`);
    return result;
  } finally {
    await consumer.disconnect();
  }
}

/** The real engine in-process, Kafka → workers → Kafka, stopped (gracefully) once it has taken every reading. */
async function engineRun(readingsTopic: string, workers: number): Promise<EngineResult> {
  const alertsTopic = topicName(`alerts-${workers}w`);
  const config = parseConfig(
    {
      engine: { workers },
      source: { type: 'kafka', brokers, topic: readingsTopic, groupId: groupName(`engine-${workers}w`), partitions, fromBeginning: true },
      sink: { type: 'kafka', brokers, topic: alertsTopic, partitions: 6 },
      deadLetter: { type: 'kafka', brokers, topic: topicName(`dead-${workers}w`), partitions: 1 },
      ...RULES,
    },
    { baseDir: OUT_DIR },
  );
  const started = performance.now();
  let pipeline: Pipeline | undefined;
  let failure: unknown;
  const run = runEngine(config, {
    handleSignals: false,
    onStart: (p) => {
      pipeline = p;
    },
  });
  run.catch((error: unknown) => {
    failure = error;
  });
  try {
    const seen = await watchCount(`engine ${workers}w`, () => pipeline?.stats.records ?? 0, () => failure);
    (pipeline as Pipeline).stop();
    const summary = await run;
    const result: EngineResult = {
      workers,
      ...timing(started, seen),
      drainSeconds: (performance.now() - seen.lastAt) / 1000,
      alertsInTopic: await topicSize(alertsTopic),
      engine: config.engine,
      summary,
    };
    log(`engine ${workers}w: ${result.readingsPerSecond.toLocaleString('en-US')} readings/s, ${summary.alerts} alerts`);
    return result;
  } catch (error) {
    (pipeline as Pipeline | undefined)?.stop();
    throw error;
  }
}

/**
 * Polls a counter every 10 ms until it reaches the reading count: when it
 * first moved (and to what) and when it got there. Polling, not a hook, so
 * the plain consumer and the engine are timed the same way. Gives up after a
 * minute without progress, or as soon as `failed` returns an error.
 */
async function watchCount(label: string, count: () => number, failed: () => unknown = () => undefined) {
  const stopProgress = showProgress(label, count);
  let first: { at: number; count: number } | undefined;
  let lastMove = performance.now();
  let lastSeen = 0;
  try {
    for (;;) {
      const now = performance.now();
      const seen = count();
      if (seen > 0) first ??= { at: now, count: seen };
      if (first !== undefined && seen >= readings) return { firstAt: first.at, firstCount: first.count, lastAt: now };
      const error = failed();
      if (error !== undefined) throw error;
      if (seen > lastSeen) [lastSeen, lastMove] = [seen, now];
      if (now - lastMove > STALL_MS) throw new Error(`${label}: stuck at ${seen} of ${readings} records for ${STALL_MS / 1000} s`);
      await sleep(POLL_MS);
    }
  } finally {
    stopProgress();
  }
}

/** A progress line on stderr each second (rewritten in place on a terminal); returns the function that stops it. */
function showProgress(label: string, count: () => number): () => void {
  let printed = 0;
  let printedAt = performance.now();
  const timer = setInterval(() => {
    const [seen, now] = [count(), performance.now()];
    const rate = Math.round(((seen - printed) * 1000) / (now - printedAt));
    const line = `${label}: ${seen.toLocaleString('en-US')} / ${readings.toLocaleString('en-US')} (${rate.toLocaleString('en-US')}/s)`;
    process.stderr.write(process.stderr.isTTY ? `\r\u001b[2K[kafka-bench] ${line}` : `[kafka-bench] ${line}\n`);
    [printed, printedAt] = [seen, now];
  }, 1_000);
  return () => {
    clearInterval(timer);
    if (process.stderr.isTTY) process.stderr.write('\r\u001b[2K');
  };
}

// The records already there at the first look came with the first fetch, whose time is not in `seconds`: they do not count.
function timing(started: number, seen: { firstAt: number; firstCount: number; lastAt: number }): Timing {
  const seconds = (seen.lastAt - seen.firstAt) / 1000;
  return {
    seconds,
    secondsWithStart: (seen.lastAt - started) / 1000,
    recordsAtFirstLook: seen.firstCount,
    readingsPerSecond: Math.round((readings - seen.firstCount) / seconds),
  };
}

/** Records in a topic (high minus low watermark over its partitions). */
async function topicSize(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topics this run created (those that exist); safe to call twice. */
async function deleteTopics(): Promise<void> {
  const names = createdTopics.splice(0);
  if (names.length === 0) return;
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = names.filter((name) => existing.has(name));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    log(`deleted ${topics.length} topics`);
  } catch (error) {
    process.stderr.write(`could not delete the bench topics ${names.join(', ')}: ${(error as Error).message}\n`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Between phases: collect the previous phase's garbage and let the broker finish its writes, so phases do not tax each other. */
async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(1_000);
}

function report(r: {
  produce: { readingsPerSecond: number };
  plainBefore: Timing;
  plainAfter: Timing;
  engineRuns: EngineResult[];
  totalSeconds: number;
}): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const pct = (a: Timing, b: Timing) => `${Math.round((100 * a.readingsPerSecond) / b.readingsPerSecond)}%`;
  const row = (run: string, t: Timing, extra: { drain?: string; alerts?: string; before?: string; after?: string } = {}) => ({
    run,
    'readings/s': n(t.readingsPerSecond),
    'seconds (first→last)': t.seconds.toFixed(2),
    'seconds incl. start': t.secondsWithStart.toFixed(2),
    'drain s': extra.drain ?? '',
    alerts: extra.alerts ?? '',
    'vs plain before': extra.before ?? '',
    'vs plain after': extra.after ?? '',
  });
  const rows = [
    row('plain consumer (before)', r.plainBefore),
    ...r.engineRuns.map((e) =>
      row(`engine, ${e.workers} worker${e.workers === 1 ? '' : 's'}`, e, {
        drain: e.drainSeconds.toFixed(2),
        alerts: e.summary.alerts === e.alertsInTopic ? n(e.summary.alerts) : `${n(e.summary.alerts)} (topic: ${n(e.alertsInTopic)})`,
        before: pct(e, r.plainBefore),
        after: pct(e, r.plainAfter),
      }),
    ),
    row('plain consumer (after)', r.plainAfter),
  ];
  return `# Throughput: Kafka → workers → Kafka

${n(readings)} readings over ${n(zones)} zones in a ${partitions}-partition topic on a local Kafka ${kafkaVersion()} broker (KRaft, single node, same machine), default rules (4 rule types, W = 500, 1 s panes, 5 min span and lag). Produced in batches of ${n(PRODUCE_BATCH)} (idempotent, acks=all) at ${n(r.produce.readingsPerSecond)} readings/s.

"Plain consumer" is the ceiling: kafkajs with the engine's fetch settings, counting records and nothing else. Seconds run from the first records taken to the last (polled every 10 ms); readings/s counts the records taken in that time, i.e. not those of the first look, which came with a fetch made before it. "incl. start" adds connecting and joining the group (and, for the engine, starting workers and sinks); "drain" is from the last record taken to the engine's graceful stop (alerts flushed, offsets committed).

${table(rows)}

Whole bench: ${r.totalSeconds.toFixed(0)} s. Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function log(line: string): void {
  process.stderr.write(`[kafka-bench] ${line}\n`);
}
