/**
 * Tiering (state.maxZonesInMemory) on the local broker and Redis: the same
 * backlog read with every zone in memory, and with a limit of a half and a
 * quarter of the zones, so that the working set is larger than the limit.
 * Two streams: zones picked uniformly (every zone is as likely as any: the
 * worst case, most readings find their zone evicted) and skewed (80% of the
 * readings go to 20% of the zones, the rest spread over all of them).
 *
 * Per run: readings/s (first record taken → last), the batch latency (fetch →
 * outputs handed to the sink, per batch, p50/p99: on a backlog this is the
 * hand-off and reload stall, not an end-to-end latency at a fixed rate), the
 * zones held by the workers at most, zones evicted and read back, and the
 * process's peak resident memory (engine and bench in one process).
 *
 *   npm run bench:tiering -- [--zones 40000] [--readings 800000]
 *
 * Every topic and Redis key it creates is deleted at the end, also after a failure or Ctrl-C.
 */

import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import { parseConfig } from '../src/config/load.js';
import type { KlaxonConfig } from '../src/config/types.js';
import { Plant } from '../src/io/generator/readings.js';
import { createKafka } from '../src/io/kafka/client.js';
import { environment, OUT_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { startEngine, waitForCount } from './in-process-engine.js';
import { produceBacklog, settle } from './kafka-backlog.js';
import { benchPlant, readingTs } from './make-stream.js';
import { BenchResources } from './resources.js';
import { DEFAULT_RULES } from './rules.js';

const { values } = parseArgs({
  options: {
    zones: { type: 'string', default: '40000' },
    readings: { type: 'string', default: '800000' },
  },
});
const zones = Number(values.zones);
const readings = Number(values.readings);
const PARTITIONS = 6;
const WORKERS = 2;
const SNAPSHOT_INTERVAL = '1s';
const HOT_SHARE = 0.8;
const HOT_ZONES = 0.2;

const { brokers, redisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const resources = new BenchResources(kafka, redisUrl, log);

await runBench('tiering bench', main, () => resources.cleanup());

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg()[0] as number;
  const streams = [
    { name: 'uniform', line: uniformLine() },
    { name: 'skewed', line: skewedLine() },
  ];
  const runs = [];
  for (const stream of streams) {
    const topic = resources.topic(stream.name);
    const produced = await produceBacklog(brokers, topic, PARTITIONS, readings, stream.line);
    log(`${stream.name}: produced ${n(readings)} readings over ${n(zones)} zones at ${n(produced.readingsPerSecond)}/s`);
    for (const limit of [undefined, Math.round(zones / 2), Math.round(zones / 4)]) {
      await settle();
      runs.push(await measure(stream.name, topic, limit));
    }
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const load = { atStart: loadAtStart, atEnd: loadavg()[0] as number };
  const markdown = report(runs, totalSeconds, load);
  writeResult('tiering', { environment: environment(), load, settings: { zones, readings, partitions: PARTITIONS, workers: WORKERS }, runs }, markdown);
  process.stdout.write(`${markdown}\n`);
}

async function measure(stream: string, topic: string, limit: number | undefined) {
  const label = `${stream}, ${limit === undefined ? 'no limit' : `limit ${n(limit)}`}`;
  const what = `${stream}-${limit ?? 'all'}`;
  const engine = startEngine(label, engineConfig(topic, `${resources.tag}-${what}`, resources.prefix(what), limit));
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  let listening = false;
  let maxZones = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    const running = engine.pipeline;
    if (running !== undefined && !listening) {
      listening = true;
      running.stats.onBatchFinished((_records, _alerts, latencyMs) => latency.recordValue(Math.max(1, Math.round(latencyMs * 1000))));
    }
    // Until the first eviction every zone met is in memory (the first snapshot must be saved first): the bound is what holds after.
    if (limit === undefined || (running?.tier?.stats.evictions ?? 0) > 0) maxZones = Math.max(maxZones, running?.stats.zones ?? 0);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  try {
    const seen = await waitForCount(label, engine, () => engine.pipeline?.stats.records ?? 0, readings, log);
    const tier = engine.pipeline?.tier?.stats;
    await engine.stop();
    const seconds = (seen.lastAt - seen.firstAt) / 1000;
    const run = {
      stream,
      limit: limit ?? null,
      readingsPerSecond: Math.round((readings - seen.firstCount) / seconds),
      p50Ms: latency.getValueAtPercentile(50) / 1000,
      p99Ms: latency.getValueAtPercentile(99) / 1000,
      maxZonesInWorkers: maxZones,
      evictions: tier?.evictions ?? 0,
      reloads: tier?.reloads ?? 0,
      peakRssMiB: peakRss / 2 ** 20,
    };
    log(`${label}: ${n(run.readingsPerSecond)} readings/s, p99 ${run.p99Ms.toFixed(1)} ms, ${n(run.reloads)} zones read back`);
    return run;
  } finally {
    clearInterval(sampler);
  }
}

function engineConfig(topic: string, group: string, prefix: string, maxZonesInMemory: number | undefined): KlaxonConfig {
  return parseConfig(
    {
      engine: { workers: WORKERS },
      source: { type: 'kafka', brokers, topic, groupId: group, partitions: PARTITIONS, fromBeginning: true },
      sink: { type: 'kafka', brokers, topic: resources.topic(`alerts-${group}`), partitions: PARTITIONS },
      deadLetter: { type: 'kafka', brokers, topic: resources.topic(`dead-${group}`), partitions: 1 },
      state: { type: 'redis', url: redisUrl, prefix, snapshotInterval: SNAPSHOT_INTERVAL, ...(maxZonesInMemory === undefined ? {} : { maxZonesInMemory }) },
      ...DEFAULT_RULES,
    },
    { baseDir: OUT_DIR },
  );
}

function uniformLine(): (i: number) => string {
  const plant = benchPlant({ zones, seed: 11 });
  return (i) => plant.next(readingTs(i, zones)).line;
}

/** 80% of the readings from the first 20% of the zones (a plant of its own), the rest from all of them. */
function skewedLine(): (i: number) => string {
  const everyZone = benchPlant({ zones, seed: 12 });
  const hot = new Plant({ zones: Math.round(zones * HOT_ZONES), devicesPerZone: 4, seed: 13, spikeRate: 0.002, heatWaveRate: 0.0003, badRate: 0.0005 });
  let pick = 0x2545f491;
  return (i) => {
    // xorshift: which plant, reproducibly.
    pick ^= pick << 13;
    pick ^= pick >>> 17;
    pick ^= pick << 5;
    const plant = (pick >>> 0) / 2 ** 32 < HOT_SHARE ? hot : everyZone;
    return plant.next(readingTs(i, zones)).line;
  };
}

function report(runs: Array<Awaited<ReturnType<typeof measure>>>, totalSeconds: number, load: { atStart: number; atEnd: number }): string {
  const base = (stream: string) => runs.find((run) => run.stream === stream && run.limit === null)?.readingsPerSecond ?? Number.NaN;
  const rows = runs.map((run) => ({
    stream: run.stream,
    maxZonesInMemory: run.limit === null ? 'none' : n(run.limit),
    'readings/s': n(run.readingsPerSecond),
    'vs no limit': `${Math.round((100 * run.readingsPerSecond) / base(run.stream))}%`,
    'batch p50 / p99 ms': `${run.p50Ms.toFixed(1)} / ${run.p99Ms.toFixed(1)}`,
    'zones in workers, at most (after the first eviction)': n(run.maxZonesInWorkers),
    'evicted / read back': `${n(run.evictions)} / ${n(run.reloads)}`,
    'peak RSS MiB': n(Math.round(run.peakRssMiB)),
  }));
  return `# Tiering: a working set larger than the limit

Local Kafka and Redis on the same 2-core machine, ${WORKERS} workers, ${PARTITIONS} partitions, default rules (W = 500, 1 s panes, 5 min span and lag), snapshots every ${SNAPSHOT_INTERVAL}. ${n(readings)} readings over ${n(zones)} zones per stream, backlog in a fresh topic, fresh group and Redis prefix per run.

- **uniform**: every reading's zone picked uniformly: with a limit of half the zones, about half the readings find their zone evicted (the worst case for any cache).
- **skewed**: ${Math.round(HOT_SHARE * 100)}% of the readings go to ${Math.round(HOT_ZONES * 100)}% of the zones, the rest to any zone.

${table(rows)}

Batch latency: fetch → outputs handed to the sink, per batch, on a backlog (it includes waiting for reloads from Redis; it is not the end-to-end latency at a fixed rate, see latency.md). Zones in workers: the most the workers held at once once evictions began (every zone stays until the first snapshot is saved; between two snapshots the workers also hold the zones read back since the last eviction). Peak RSS: the bench process, which runs the engine and its worker threads.

Whole bench: ${totalSeconds.toFixed(0)} s; 1-minute load average ${load.atStart.toFixed(1)} at the start, ${load.atEnd.toFixed(1)} at the end. Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function log(line: string): void {
  process.stderr.write(`[tiering] ${line}\n`);
}
