/**
 * What Redis state costs, on the local broker and Redis (services/up.sh):
 *
 * 1. Snapshot: Z zones (each read `readings / Z` times, round robin) through
 *    the engine with snapshots every hour, so the final snapshot on stop
 *    writes the whole state at once: its time, bytes, and Redis memory per zone.
 *    Then the same snapshot taken apart in this process: Redis read, decode,
 *    encode and Redis write, each on one thread.
 * 2. Restart: a second engine (same group, same prefix) while a few hundred new
 *    readings arrive: time to every partition recovered and to the first new record.
 * 3. Throughput on a backlog (default 1,000,000 readings over 10,000 zones)
 *    with state in memory, and in Redis with snapshots every 1 s and every 5 s.
 *
 *   npm run bench:recovery -- [--zones 100000] [--readings 3×zones] [--backlog 1000000] [--backlog-zones 10000]
 *
 * Every topic and Redis key it creates is deleted at the end, also after a failure or Ctrl-C.
 */

import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/config/load.js';
import type { KlaxonConfig } from '../src/config/types.js';
import type { SnapshotStats } from '../src/coordinator/checkpoints.js';
import { planWindow } from '../src/engine/plan.js';
import { RuleBook } from '../src/engine/rule-book.js';
import { snapshotIdentity, UpdatePacker, zoneFromImage } from '../src/engine/zone-image.js';
import { createKafka } from '../src/io/kafka/client.js';
import { ReadingsProducer } from '../src/io/kafka/readings-producer.js';
import { readPartition } from '../src/state/read-partition.js';
import { RedisStateStore } from '../src/state/redis-store.js';
import { environment, OUT_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { type Engine, startEngine, waitForCount } from './in-process-engine.js';
import { produceBacklog, settle } from './kafka-backlog.js';
import { benchPlant, readingTs } from './make-stream.js';
import { BenchResources, scanKeys as scan, unlinkKeys as unlink } from './resources.js';
import { DEFAULT_RULES } from './rules.js';

const { values } = parseArgs({
  options: {
    zones: { type: 'string', default: '100000' },
    readings: { type: 'string' },
    backlog: { type: 'string', default: '2000000' },
    'backlog-zones': { type: 'string', default: '10000' },
  },
});
const zones = Number(values.zones);
const readings = Number(values.readings ?? 3 * zones);
const backlog = Number(values.backlog);
const backlogZones = Number(values['backlog-zones']);
const PARTITIONS = 6;
const WORKERS = 2;
const NEW_READINGS = 600;
const STALL_MS = 120_000;

/** Same rules as bench/throughput.ts. */
const RULES = DEFAULT_RULES;

const { brokers, redisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const redis = new Redis(redisUrl, { lazyConnect: true });
const resources = new BenchResources(kafka, redisUrl, log);
const runTag = resources.tag;
let topicCount = 0;

await runBench(
  'recovery bench',
  async () => {
    await redis.connect();
    await main();
  },
  cleanup,
);

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg()[0] as number;
  const recovery = await snapshotAndRestart();
  const breakdown = await takeApart(recovery.prefix, recovery.topic);
  await unlinkKeys(`${recovery.prefix}:*`);
  const throughput = await snapshotThroughput();
  const totalSeconds = (performance.now() - started) / 1000;
  const load = { atStart: loadAtStart, atEnd: loadavg()[0] as number };
  const settings = { zones, readings, backlog, backlogZones, partitions: PARTITIONS, workers: WORKERS, newReadings: NEW_READINGS, ...RULES };
  const markdown = report(recovery, breakdown, throughput, totalSeconds, load);
  writeResult('recovery', { environment: environment(), load, settings, recovery, breakdown, throughput, totalSeconds }, markdown);
  process.stdout.write(`${markdown}\n`);
}

// ------------------------------------------------------------- 1 + 2: snapshot, restart

async function snapshotAndRestart() {
  const topic = topicName('zones');
  const prefix = `${runTag}-recovery`;
  const group = `${runTag}-recovery`;
  const line = (i: number) => readingLine(i % zones, readingTs(i, zones), i);
  const produced = await produce(topic, readings, line);
  log(`produced ${n(readings)} readings over ${n(zones)} zones at ${n(produced.readingsPerSecond)}/s`);
  await settle();

  // First engine: take everything, then stop; the final snapshot writes the whole snapshot.
  const redisBefore = await redisInfo();
  const first = startEngine('first', engineConfig(topic, group, { prefix, snapshotInterval: '1h' }));
  const firstRecord = await waitForCount('first engine', first, () => first.pipeline?.stats.records ?? 0, readings, log);
  const stopAt = performance.now();
  const firstSummary = await first.stop();
  const stopSeconds = (performance.now() - stopAt) / 1000;
  const snapshot = { ...(first.pipeline?.checkpoints.stats as SnapshotStats) };
  const redisAfter = await redisInfo();
  sameRedis(redisBefore, redisAfter);
  const metaKeys = await scanKeys(`${prefix}:${topic}:*:meta`);
  const keyBytes = await memoryUsage(await scanKeys(`${prefix}:*`));
  log(`snapshot: ${n(snapshot.lastZones)} zones, ${mib(snapshot.lastBytes)} in ${ms(snapshot.lastMs)}; stop took ${stopSeconds.toFixed(1)} s`);
  await settle();

  // Second engine: same group and prefix; new readings go in as soon as it starts.
  const producer = await ReadingsProducer.connect(brokers, topic, PARTITIONS);
  const second = startEngine('second', engineConfig(topic, group, { prefix, snapshotInterval: '1h' }));
  const fresh = Array.from({ length: NEW_READINGS }, (_, j) => ({
    value: Buffer.from(readingLine((j * 7919) % zones, readingTs(readings + j, zones), j)),
  }));
  const sent = producer.send(fresh).then(() => performance.now() - second.startedAt);
  const marks = await watchRestart(second, metaKeys.length);
  const sentAfterMs = await sent;
  await producer.close();
  const secondSummary = await second.stop();
  sameRedis(redisBefore, await redisInfo());
  const restart = {
    partitionsWithSnapshots: metaKeys.length,
    recoveries: second.pipeline?.checkpoints.stats.recoveries,
    replayed: secondSummary.replayed,
    pipelineStartedMs: (second.pipelineAt ?? Number.NaN) - second.startedAt,
    newReadingsSentAfterMs: sentAfterMs,
    ...marks,
  };
  log(`restart: all ${metaKeys.length} partitions recovered after ${ms(marks.allRecoveredMs)}, first new record after ${ms(marks.firstNewRecordMs)}`);
  return {
    topic,
    prefix,
    produced,
    first: { summary: firstSummary, firstRecordAtMs: firstRecord.firstAt - first.startedAt, lastRecordAtMs: firstRecord.lastAt - first.startedAt, stopSeconds },
    snapshot: {
      ...snapshot,
      bytesPerZone: snapshot.lastBytes / snapshot.lastZones,
      redisUsedMemoryBefore: redisBefore.usedMemory,
      redisUsedMemoryAfter: redisAfter.usedMemory,
      redisBytesPerZone: (redisAfter.usedMemory - redisBefore.usedMemory) / snapshot.lastZones,
      keysMemoryUsage: keyBytes,
      keysBytesPerZone: keyBytes / snapshot.lastZones,
    },
    restart,
  };
}

/** A valid reading; temperatures vary a little so the statistics are not degenerate. */
function readingLine(zone: number, ts: number, i: number): string {
  const temperature = (60 + (zone % 20) + ((i * 37) % 100) / 100).toFixed(2);
  return `{"device_id":"dev-${zone}-0","zone_id":"zone-${zone}","temperature":${temperature},"ts":${ts}}`;
}

/**
 * The stored snapshot taken apart, one step at a time on this thread: Redis
 * read (ids and images per partition), decode, encode and copy (the workers' part
 * of a snapshot, here on one thread instead of two), Redis write (a full save
 * to a scratch prefix: what the final snapshot sent). Partition by partition.
 */
async function takeApart(prefix: string, topic: string) {
  const config = engineConfig(topic, 'unused', { prefix, snapshotInterval: '1h' });
  const window = planWindow(config.window);
  const book = new RuleBook(config.versions, config.window.paneMs);
  const identity = snapshotIdentity(config.window);
  const store = await RedisStateStore.connect({ url: redisUrl }, prefix, topic, identity);
  const scratch = await RedisStateStore.connect({ url: redisUrl }, `${runTag}-scratch`, topic, identity);
  const times = { readMs: 0, decodeMs: 0, encodeMs: 0, copyMs: 0, writeMs: 0 };
  const timed = async <T>(key: keyof typeof times, work: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    times[key] += performance.now() - started;
    return result;
  };
  let count = 0;
  let bytes = 0;
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const snapshot = await timed('readMs', () => readPartition(store, partition));
      if (snapshot === null) continue;
      const decoded = await timed('decodeMs', () =>
        [...snapshot.zones].map(([zoneId, image]) => [zoneId, zoneFromImage(zoneId, image, window, book)] as const),
      );
      const packer = new UpdatePacker();
      const chunks = await timed('encodeMs', () => {
        for (const [zoneId, zone] of decoded) packer.add(zoneId, zone, true, book);
        return packer.finish();
      });
      await timed('copyMs', () => structuredClone(chunks));
      await timed('writeMs', () => scratch.save(partition, chunks, snapshot.offset, null, true));
      count += packer.zones;
      for (const image of snapshot.zones.values()) bytes += image.byteLength;
    }
  } finally {
    await Promise.all([store.close(), scratch.close()]);
    await unlinkKeys(`${runTag}-scratch:*`);
  }
  log(
    `taken apart: read ${ms(times.readMs)}, decode ${ms(times.decodeMs)}, encode ${ms(times.encodeMs)}, copy ${ms(times.copyMs)}, write ${ms(times.writeMs)}`,
  );
  return { zones: count, bytes, ...times };
}

// ------------------------------------------------------------- 3: throughput

async function snapshotThroughput() {
  const topic = topicName('backlog');
  const plant = benchPlant({ zones: backlogZones, seed: 7 });
  const produced = await produce(topic, backlog, (i) => plant.next(readingTs(i, backlogZones)).line);
  log(`produced ${n(backlog)} readings over ${n(backlogZones)} zones at ${n(produced.readingsPerSecond)}/s`);
  const runs = [];
  // Two rounds, so that each snapshot run has a memory run just before it on a machine whose load drifts.
  for (const [round, label, snapshotInterval] of [1, 2].flatMap((round) =>
    (
      [
        ['memory', undefined],
        ['redis, 1 s', '1s'],
        ['redis, 5 s', '5s'],
      ] as const
    ).map(([label, interval]) => [round, label, interval] as const),
  )) {
    await settle();
    const what = `${label.replace(/\W+/g, '')}-${round}`;
    const state = snapshotInterval === undefined ? undefined : { prefix: `${runTag}-${what}`, snapshotInterval };
    const engine = startEngine(label, engineConfig(topic, `${runTag}-${what}`, state));
    const taken: Array<Pick<SnapshotStats, 'lastMs' | 'lastBytes' | 'lastZones'>> = [];
    let seen = 0;
    const sampler = setInterval(() => {
      const s = engine.pipeline?.checkpoints.stats;
      if (s === undefined || s.snapshots === seen) return;
      seen = s.snapshots;
      taken.push({ lastMs: s.lastMs, lastBytes: s.lastBytes, lastZones: s.lastZones });
    }, 5);
    const seenRecords = await waitForCount(label, engine, () => engine.pipeline?.stats.records ?? 0, backlog, log);
    const duringRun = seen;
    const summary = await engine.stop();
    clearInterval(sampler);
    const seconds = (seenRecords.lastAt - seenRecords.firstAt) / 1000;
    const mean = (f: (t: (typeof taken)[number]) => number) => (taken.length === 0 ? 0 : taken.reduce((a, t) => a + f(t), 0) / taken.length);
    const run = {
      round,
      label,
      snapshotInterval: snapshotInterval ?? null,
      seconds,
      readingsPerSecond: Math.round((backlog - seenRecords.firstCount) / seconds),
      snapshotsDuringRun: duringRun,
      snapshotsTotal: engine.pipeline?.checkpoints.stats.snapshots ?? 0,
      meanSnapshotMs: mean((t) => t.lastMs),
      meanSnapshotBytes: mean((t) => t.lastBytes),
      meanSnapshotZones: mean((t) => t.lastZones),
      snapshots: taken,
      summary,
    };
    log(`${label} (round ${round}): ${n(run.readingsPerSecond)} readings/s, ${run.snapshotsTotal} snapshots of ${ms(run.meanSnapshotMs)} on average`);
    runs.push(run);
  }
  return { produced, runs };
}

// ------------------------------------------------------------- engine

function engineConfig(topic: string, group: string, state?: { prefix: string; snapshotInterval: string }): KlaxonConfig {
  return parseConfig(
    {
      engine: { workers: WORKERS },
      source: { type: 'kafka', brokers, topic, groupId: group, partitions: PARTITIONS, fromBeginning: true },
      sink: { type: 'kafka', brokers, topic: topicName(`alerts-${topicCount}`), partitions: PARTITIONS },
      deadLetter: { type: 'kafka', brokers, topic: topicName(`dead-${topicCount}`), partitions: 1 },
      state: state === undefined ? { type: 'memory' } : { type: 'redis', url: redisUrl, ...state },
      ...RULES,
    },
    { baseDir: OUT_DIR },
  );
}

/**
 * Milliseconds from the engine's start to each partition recovered, to the
 * first new record taken and to all of them (polled every 5 ms).
 */
async function watchRestart(engine: Engine, partitions: number) {
  const recoveredMs: number[] = [];
  let firstNewRecordMs = Number.NaN;
  for (;;) {
    const at = performance.now() - engine.startedAt;
    const stats = engine.pipeline?.stats;
    const fresh = stats === undefined ? 0 : stats.records - stats.replayed;
    while (recoveredMs.length < (engine.pipeline?.checkpoints.stats.recoveries ?? 0)) recoveredMs.push(at);
    if (fresh > 0 && Number.isNaN(firstNewRecordMs)) firstNewRecordMs = at;
    if (recoveredMs.length >= partitions && fresh >= NEW_READINGS) {
      return { recoveredMs, allRecoveredMs: recoveredMs[partitions - 1] as number, firstNewRecordMs, allNewRecordsMs: at };
    }
    if (engine.failure !== undefined) throw engine.failure;
    if (at > STALL_MS) throw new Error(`${engine.label}: not recovered after ${STALL_MS / 1000} s`);
    await sleep(5);
  }
}

// ------------------------------------------------------------- Kafka and Redis

function topicName(what: string): string {
  topicCount++;
  return resources.topic(what);
}

/** Produces `count` lines keyed by zone. */
function produce(topic: string, count: number, line: (i: number) => string) {
  return produceBacklog(brokers, topic, PARTITIONS, count, line);
}

async function redisInfo() {
  const info = await redis.info();
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? '';
  return { runId: field('run_id'), usedMemory: Number(field('used_memory')) };
}

/** The local Redis is shared (a test restarts it): a restart in the middle would make the figures meaningless. */
function sameRedis(before: { runId: string }, after: { runId: string }): void {
  if (before.runId !== after.runId) throw new Error('Redis restarted during the measurement (another process): run the bench again');
}

/** Exact MEMORY USAGE (SAMPLES 0: every field) summed over keys. */
async function memoryUsage(keys: string[]): Promise<number> {
  let total = 0;
  for (const key of keys) total += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  return total;
}

function scanKeys(pattern: string): Promise<string[]> {
  return scan(redis, pattern);
}

function unlinkKeys(pattern: string): Promise<number> {
  return unlink(redis, pattern);
}

/** Deletes this run's topics and Redis keys; safe to call twice. */
async function cleanup(): Promise<void> {
  await resources.deleteTopics();
  try {
    log(`deleted ${await unlinkKeys(`${runTag}-*`)} Redis keys`);
  } catch (error) {
    process.stderr.write(`could not delete the Redis keys ${runTag}-*: ${(error as Error).message}\n`);
  }
  redis.disconnect();
}

// ------------------------------------------------------------- report

function report(
  r: Awaited<ReturnType<typeof snapshotAndRestart>>,
  b: Awaited<ReturnType<typeof takeApart>>,
  t: Awaited<ReturnType<typeof snapshotThroughput>>,
  totalSeconds: number,
  load: { atStart: number; atEnd: number },
): string {
  const s = r.snapshot;
  const snapshotRows = [
    { measure: 'zones in the snapshot', value: n(s.lastZones) },
    { measure: 'snapshot time (the final snapshot, on stop)', value: ms(s.lastMs) },
    { measure: 'snapshot bytes (encoded zones)', value: `${n(s.lastBytes)} (${mib(s.lastBytes)})` },
    { measure: 'encoded bytes per zone', value: n(Math.round(s.bytesPerZone)) },
    { measure: 'Redis used_memory growth per zone', value: n(Math.round(s.redisBytesPerZone)) },
    { measure: 'Redis MEMORY USAGE of the keys, per zone', value: n(Math.round(s.keysBytesPerZone)) },
    { measure: 'first engine: stop → stopped (drain + final snapshot)', value: `${r.first.stopSeconds.toFixed(2)} s` },
  ];
  const apartRows = [
    { step: 'Redis read (zone ids, then MGET of the images, 6 partitions)', time: ms(b.readMs) },
    { step: 'decode (image → zone state)', time: ms(b.decodeMs) },
    { step: 'encode (zone state → whole images in update chunks)', time: ms(b.encodeMs) },
    { step: 'copy the encoded zones (structuredClone, as a worker → coordinator message does)', time: ms(b.copyMs) },
    { step: 'Redis write (full save: MULTI, one Lua update script per 500 zones, EXEC)', time: ms(b.writeMs) },
  ];
  const x = r.restart;
  const since = (what: string, at: number) => ({ 'from the second engine’s start to': what, ms: n(Math.round(at)) });
  const restartRows = [
    since('pipeline created (sinks, Redis, consumer connected, group joined)', x.pipelineStartedMs),
    since(`${NEW_READINGS} new readings sent`, x.newReadingsSentAfterMs),
    ...x.recoveredMs.map((at, i) => since(`partition snapshot ${i + 1} of ${x.partitionsWithSnapshots} loaded`, at)),
    since('**all partitions recovered**', x.allRecoveredMs),
    since('**first new record taken**', x.firstNewRecordMs),
    since(`all ${NEW_READINGS} new records taken`, x.allNewRecordsMs),
  ];
  const memory = (round: number) => t.runs.find((run) => run.round === round && run.snapshotInterval === null)?.readingsPerSecond ?? Number.NaN;
  const throughputRows = t.runs.map((run) => ({
    round: run.round,
    state: run.label,
    'readings/s': n(run.readingsPerSecond),
    'vs memory (same round)': `${Math.round((100 * run.readingsPerSecond) / memory(run.round))}%`,
    'seconds (first→last)': run.seconds.toFixed(2),
    'snapshots (during run / total)': run.snapshotInterval === null ? '' : `${run.snapshotsDuringRun} / ${run.snapshotsTotal}`,
    'mean snapshot ms': run.snapshotInterval === null ? '' : n(Math.round(run.meanSnapshotMs)),
    'mean snapshot zones': run.snapshotInterval === null ? '' : n(Math.round(run.meanSnapshotZones)),
    'mean snapshot MiB': run.snapshotInterval === null ? '' : (run.meanSnapshotBytes / 2 ** 20).toFixed(1),
  }));
  return `# Recovery: Redis snapshots, restart, throughput

Local Kafka and Redis on the same 2-core machine, ${WORKERS} workers, ${PARTITIONS} partitions, default rules (W = 500, 1 s panes, 5 min span and lag).

## Snapshot of ${n(zones)} zones

${n(readings)} readings, round robin over the zones (every zone ${n(Math.floor(readings / zones))}+ readings), produced at ${n(r.produced.readingsPerSecond)}/s. Snapshot interval 1 h: the one snapshot is the final snapshot on stop, with every zone in it.

${table(snapshotRows)}

The same snapshot taken apart in the bench process, one thread per step (the engine encodes on its ${WORKERS} workers in parallel, then copies the bytes to the coordinator):

${table(apartRows)}

## Restart with ${n(zones)} zones of state

A second engine, same consumer group and prefix; ${NEW_READINGS} new readings produced as it starts. A partition loads its snapshot when its first record is fetched (kafkajs skips empty batches), one partition after another. Replayed records: ${n(x.replayed)}.

${table(restartRows)}

## Throughput with snapshots

${n(backlog)} readings over ${n(backlogZones)} zones (bench plant), backlog in a fresh topic, fresh group per run. Readings/s from the first record taken to the last (as in kafka-throughput.md); two rounds of memory, 1 s, 5 s, so that drift in the load of a shared machine shows. Snapshots: those taken before the last record / all, including the final one on stop.

${table(throughputRows)}

Whole bench: ${totalSeconds.toFixed(0)} s; 1-minute load average ${load.atStart.toFixed(1)} at the start, ${load.atEnd.toFixed(1)} at the end (other work shares the machine). Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function ms(x: number): string {
  return `${n(Math.round(x))} ms`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function log(line: string): void {
  process.stderr.write(`[recovery-bench] ${line}\n`);
}
