/**
 * Sustained throughput with Kafka on both sides, the way it runs in
 * production: a backlog of readings in a fresh topic → the engine as its own
 * process(es) (`klaxon run`, cluster.config.json with Redis snapshots every
 * 5 s) → alerts topic; at each worker count (one process) and each process
 * count (processes in one consumer group, `processWorkers` workers each).
 * Against the ceiling of a plain kafkajs consumer that only counts the same
 * backlog with the engine's consumer settings (not its fetch wait, which a
 * backlog never reaches: every fetch is full), before and after the engine runs, in
 * the same run, so the ratios compare like with like on a shared machine.
 *
 * An engine run is timed on the group's committed offsets (polled every
 * 100 ms; the engine commits every source.commitInterval, 1 s): from the
 * first commit to the one that covers the whole backlog. `--builds` runs
 * other builds too (checkouts of other commits, built), each shape build
 * after build, so a before/after is measured in one run.
 *
 *   npm run bench -- --only throughput [--readings N] [--zones N] [--workers 1,2,4] [--processes 1,2] [--process-workers 1] [--builds /path/to/base,.]
 */

import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { ensureTopic } from '../src/io/kafka/client.js';
import { CONSUMER_SETTINGS } from '../src/io/kafka/options.js';
import { type BuildSpec, parseBuilds } from './builds.js';
import { baseConfig, residentBytes, startEngine, summaryCounts, writeEngineConfig } from './engine-process.js';
import { environment, OUT_DIR, table, writeResult } from './environment.js';
import {
  committed,
  kafkaVersion,
  PRODUCE_BATCH,
  plainConsume,
  plainConsumePlatformatic,
  produceBacklog,
  settle,
  showProgress,
  type Timing,
  timing,
  topicSize,
  watchCount,
} from './kafka-backlog.js';
import { benchPlant, readingTs } from './make-stream.js';
import type { BenchResources } from './resources.js';

export interface ThroughputOptions {
  readings: number;
  zones: number;
  /** Worker counts of one engine process. */
  workers: number[];
  /** Engine processes in one group, `processWorkers` workers each (1 is skipped when `workers` has that run). */
  processes: number[];
  processWorkers: number;
  partitions: number;
  /** Builds that run the engine, in turns (default: this checkout as it is). */
  builds?: BuildSpec[];
}

export interface Services {
  brokers: string[];
  redisUrl: string;
  kafka: Kafka;
  resources: BenchResources;
}

export interface EngineResult extends Timing {
  /** The build that ran: its commit (or folder name). */
  build: string;
  processes: number;
  /** Workers per process. */
  workersPerProcess: number;
  /** Workers over all processes. */
  workers: number;
  /** Whole backlog committed → every process stopped (graceful: drain, final snapshot). */
  stopSeconds: number;
  /** Alerts the sink topic holds, and those the processes say they wrote (more in the topic: records processed twice after a rebalance). */
  alertsInTopic: number;
  alertsReported: number;
  /** Largest resident memory of each process while it ran. */
  peakRssMiB: number[];
  /** Each process's closing line. */
  summaries: string[];
}

export interface ThroughputResult {
  environment: Record<string, unknown>;
  broker: Record<string, unknown>;
  settings: Record<string, unknown>;
  produce: { seconds: number; readingsPerSecond: number };
  plainBefore: Timing;
  plainAfter: Timing;
  /** The plain consumer again between the engine's shapes: on a shared machine one or two runs are not a ceiling. */
  plainBetween?: Timing[];
  /** The median of every plain kafkajs run: what "vs ceiling" divides by. */
  ceiling?: number;
  /** The same backlog through a plain kafkajs consumer with Klaxon's record decoder in kafkajs's place. */
  plainKlaxonDecoder?: Timing;
  /** The same backlog through a plain @platformatic/kafka consumer (after the kafkajs one before). */
  plainPlatformatic?: Timing;
  engineRuns: EngineResult[];
  totalSeconds: number;
}

const LOG_DIR = join(OUT_DIR, 'throughput');
const POLL_MS = 100;
const STALL_MS = 120_000;

/** Runs the throughput part; writes results/kafka-throughput.json and .md and returns the figures. */
export async function kafkaThroughput(o: ThroughputOptions, s: Services): Promise<ThroughputResult> {
  const started = performance.now();
  const { resources } = s;
  const readingsTopic = resources.topic('readings');
  const plant = benchPlant({ zones: o.zones, seed: 7 });
  const produce = await produceBacklog(s.brokers, readingsTopic, o.partitions, o.readings, (i) => plant.next(readingTs(i, o.zones)).line, progress);
  log(`produced ${n(o.readings)} readings over ${n(o.zones)} zones at ${n(produce.readingsPerSecond)}/s`);

  const plain = async (when: string) => {
    await settle();
    return plainConsume(s.kafka, readingsTopic, `${resources.tag}-plain-${when}`, o.readings, `plain consumer (${when})`, log);
  };
  const plainBefore = await plain('before');
  await settle();
  const plainKlaxonDecoder = await plainConsume(
    s.kafka,
    readingsTopic,
    `${resources.tag}-plain-klaxon-decoder`,
    o.readings,
    "plain consumer, Klaxon's record decoder",
    log,
    'klaxon',
  );
  await settle();
  const plainPlatformatic = await plainConsumePlatformatic({
    brokers: s.brokers,
    topic: readingsTopic,
    groupId: `${resources.tag}-plain-pk`,
    total: o.readings,
    label: 'plain @platformatic/kafka',
    log,
  });
  const engineRuns: EngineResult[] = [];
  const plainBetween: Timing[] = [];
  for (const [i, shape] of shapes(o).entries()) {
    if (i > 0) plainBetween.push(await plain(`between ${i}`));
    for (const [index, build] of (o.builds ?? parseBuilds('.')).entries()) {
      await settle();
      engineRuns.push(await engineRun(o, s, readingsTopic, shape, build, index));
    }
  }
  const plainAfter = await plain('after');
  await resources.deleteTopics([readingsTopic]);
  const totalSeconds = (performance.now() - started) / 1000;

  const state = baseConfig().state;
  const settings = {
    ...o,
    produceBatch: PRODUCE_BATCH,
    consumer: CONSUMER_SETTINGS,
    state: `Redis, snapshots every ${state.snapshotInterval}`,
    commitInterval: baseConfig().source.commitInterval,
  };
  const broker = { version: kafkaVersion(), brokers: s.brokers, mode: 'KRaft, single node' };
  const result: ThroughputResult = {
    environment: environment(),
    broker,
    settings,
    produce,
    plainBefore,
    plainAfter,
    plainBetween,
    ceiling: median([plainBefore, ...plainBetween, plainAfter].map((t) => t.readingsPerSecond)),
    plainPlatformatic,
    plainKlaxonDecoder,
    engineRuns,
    totalSeconds,
  };
  const markdown = report(o, result);
  writeResult('kafka-throughput', result, markdown);
  process.stdout.write(`${markdown}\n`);
  return result;
}

/** One process at each worker count, then each process count at `processWorkers` workers each. */
function shapes(o: ThroughputOptions): Array<{ processes: number; workersPerProcess: number }> {
  const single = o.workers.map((workers) => ({ processes: 1, workersPerProcess: workers }));
  const many = o.processes
    .filter((p) => !(p === 1 && o.workers.includes(o.processWorkers)))
    .map((processes) => ({ processes, workersPerProcess: o.processWorkers }));
  return [...single, ...many];
}

/** `processes` engine processes in one fresh group (own instance ids, one Redis prefix), until the group has committed the whole backlog. */
async function engineRun(
  o: ThroughputOptions,
  s: Services,
  readingsTopic: string,
  shape: { processes: number; workersPerProcess: number },
  { root, nodeFlags, engineOptions, sinkOptions, label: build }: BuildSpec,
  buildIndex: number,
): Promise<EngineResult> {
  const { processes, workersPerProcess } = shape;
  const { resources } = s;
  const what = `${processes}p${workersPerProcess}w-b${buildIndex}`;
  const label = `engine ${build}, ${processes} process${processes === 1 ? '' : 'es'} × ${workersPerProcess} worker${workersPerProcess === 1 ? '' : 's'}`;
  const groupId = `${resources.tag}-${what}`;
  const topics = { readings: readingsTopic, alerts: resources.topic(`${what}-alerts`), dead: resources.topic(`${what}-dead`) };
  await ensureTopic(s.kafka, topics.alerts, o.partitions);
  await ensureTopic(s.kafka, topics.dead, 1);
  const prefix = resources.prefix(what);
  const started = performance.now();
  const engines = Array.from({ length: processes }, (_, i) =>
    startEngine(
      writeEngineConfig({
        name: `${groupId}-${i}`,
        dir: LOG_DIR,
        brokers: s.brokers,
        topics,
        partitions: o.partitions,
        groupId,
        instanceId: `${groupId}-${i}`,
        workers: workersPerProcess,
        state: { type: 'redis', url: s.redisUrl, prefix },
        engineOptions,
        sinkOptions,
      }),
      resources.children,
      { root, nodeArgs: nodeFlags },
    ),
  );
  const admin = s.kafka.admin();
  try {
    await Promise.all(engines.map((e) => e.started));
    await admin.connect();
    const peakRss = engines.map(() => 0);
    const seen = await watchCount({
      label,
      total: o.readings,
      pollMs: POLL_MS,
      stallMs: STALL_MS,
      log,
      count: async () => {
        engines.forEach((e, i) => {
          peakRss[i] = Math.max(peakRss[i] as number, residentBytes(e.pid) || 0);
        });
        return (await committed(admin, groupId, readingsTopic)).committed;
      },
      failed: () => {
        const gone = engines.find((e) => e.exited);
        return gone === undefined ? undefined : new Error(`${label}: an engine exited before the end; see ${gone.logPath}`);
      },
    });
    const summaries = await Promise.all(engines.map((e) => e.stop()));
    const result: EngineResult = {
      build,
      processes,
      workersPerProcess,
      workers: processes * workersPerProcess,
      ...timing(started, seen, o.readings),
      stopSeconds: (performance.now() - seen.lastAt) / 1000,
      alertsInTopic: await topicSize(s.kafka, topics.alerts),
      alertsReported: summaries.reduce((sum, line) => sum + (summaryCounts(line)?.alerts ?? Number.NaN), 0),
      peakRssMiB: peakRss.map((bytes) => Math.round(bytes / 2 ** 20)),
      summaries,
    };
    log(`${label}: ${n(result.readingsPerSecond)} readings/s, ${n(result.alertsInTopic)} alerts`);
    return result;
  } finally {
    for (const engine of engines) engine.kill();
    await admin.disconnect().catch(() => {});
    await resources.deleteTopics([topics.alerts, topics.dead]);
    await resources.deleteKeys([prefix]);
  }
}

/** A build's commit: its .commit file (an exported tree), else this checkout's commit. */
function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function report(o: ThroughputOptions, r: ThroughputResult): string {
  const ceiling = r.ceiling ?? (r.plainBefore.readingsPerSecond + r.plainAfter.readingsPerSecond) / 2;
  const pct = (x: number, of: number) => `${Math.round((100 * x) / of)}%`;
  const oneWorker = (e: EngineResult) => r.engineRuns.find((x) => x.build === e.build && x.processes === 1 && x.workers === 1)?.readingsPerSecond;
  const builds = new Set(r.engineRuns.map((e) => e.build)).size;
  const row = (run: string, t: Timing, e?: EngineResult) => ({
    run,
    'readings/s': n(t.readingsPerSecond),
    'vs ceiling': e === undefined ? '' : pct(t.readingsPerSecond, ceiling),
    'vs 1 worker': e === undefined || oneWorker(e) === undefined ? '' : `${(t.readingsPerSecond / (oneWorker(e) as number)).toFixed(2)}×`,
    'CPU µs/record': t.cpuNsPerRecord === undefined ? '' : (t.cpuNsPerRecord / 1000).toFixed(2),
    'seconds (first→last)': t.seconds.toFixed(2),
    'seconds incl. start': t.secondsWithStart.toFixed(2),
    'stop s': e === undefined ? '' : e.stopSeconds.toFixed(2),
    alerts: e === undefined ? '' : e.alertsInTopic === e.alertsReported ? n(e.alertsInTopic) : `${n(e.alertsInTopic)} (engines: ${n(e.alertsReported)})`,
    'peak RSS MiB': e === undefined ? '' : e.peakRssMiB.join(' + '),
  });
  const engineLabel = (e: EngineResult) =>
    (e.processes === 1
      ? `engine, ${e.workers} worker${e.workers === 1 ? '' : 's'}`
      : `engine, ${e.processes} processes × ${e.workersPerProcess} worker${e.workersPerProcess === 1 ? '' : 's'}`) + (builds > 1 ? ` (${e.build})` : '');
  const rows = [
    row('plain consumer (before)', r.plainBefore),
    ...(r.plainKlaxonDecoder === undefined ? [] : [row("plain consumer, Klaxon's record decoder", r.plainKlaxonDecoder)]),
    ...(r.plainPlatformatic === undefined ? [] : [row('plain @platformatic/kafka consumer', r.plainPlatformatic)]),
    ...r.engineRuns.map((e) => row(engineLabel(e), e, e)),
    ...(r.plainBetween ?? []).map((t, i) => row(`plain consumer (between shapes ${i + 1})`, t)),
    row('plain consumer (after)', r.plainAfter),
  ];
  const base = baseConfig();
  return `# Throughput: Kafka → engine processes → Kafka

${n(o.readings)} readings over ${n(o.zones)} zones in a ${o.partitions}-partition topic on a local Kafka ${kafkaVersion()} broker (KRaft, single node, same machine), default rules (4 rule types, W = 500, 1 s panes, 5 min span and lag). Produced in batches of ${n(PRODUCE_BATCH)} (idempotent, acks=all) at ${n(r.produce.readingsPerSecond)} readings/s.

The engine runs as its own process (\`klaxon run\` with cluster.config.json pointed at fresh topics, a fresh group and Redis prefix): at-least-once, state in Redis with snapshots every ${base.state.snapshotInterval}, offsets committed every ${base.source.commitInterval}. "N processes" are N \`klaxon run\` processes in one consumer group, each with the worker count shown. An engine run is timed on the group's committed offsets, polled every ${POLL_MS} ms: from the first commit to the commit that covers the whole backlog, counting the readings committed in between (the last commit comes up to ${base.source.commitInterval} after the last reading, which the figure absorbs). "incl. start" adds starting the processes and joining the group; "stop" is from the last commit to every process stopped (drain, final snapshot).

"Plain consumer" is the ceiling: kafkajs in the bench process with the engine's fetch settings and kafkajs's own record decoder, counting records and nothing else, timed from its first records to its last (polled every 10 ms); "CPU µs/record" is the bench process's CPU over it (the client's fetch and decode). "vs ceiling" is against the median of the plain runs (${n(Math.round(ceiling))}/s): before the engines, between shapes and after, because on a shared machine one run of it can be half another. The plain consumer with Klaxon's record decoder in kafkajs's place (as the engine has it), and the plain @platformatic/kafka consumer (1.35, the last release for Node 20), read the same backlog the same way, for comparison; neither counts in the ceiling. ${builds > 1 ? 'Several builds ran the engine: each shape build after build, on the same backlog. ' : ''}Peak RSS: each engine process's largest resident memory while it ran.

${table(rows)}

Whole part: ${r.totalSeconds.toFixed(0)} s. Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function progress(label: string, count: () => number, total: number): () => void {
  return showProgress(label, count, total, log);
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function log(line: string): void {
  process.stderr.write(`[bench throughput] ${line}\n`);
}
