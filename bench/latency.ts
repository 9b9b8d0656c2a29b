/**
 * End-to-end latency through the real broker: a reading's produce time (its
 * `ts`, stamped as it is handed to the producer) → its `too-hot` firing alert
 * visible to a read_committed consumer of the alerts topic, as an HDR
 * histogram, at fixed offered rates, for each guarantee.
 *
 * For each guarantee and rate: fresh topics (readings 6 partitions, alerts 6,
 * dead letters 1), the engine as its own process (`klaxon run`) with the
 * repo's cluster.config.json pointed at them, Redis state under a fresh
 * prefix; a trickle of readings until the first alert proves the engine is
 * consuming; then the open-loop generator (bench/load-generator.ts, in its own
 * process so its work does not delay the alert consumer here) for warm-up +
 * N seconds. Alerts of readings stamped in the warm-up are discarded.
 *
 *   npm run bench:latency -- [--rates 10000,50000,100000,80%] [--seconds 20] [--guarantees at-least-once,exactly-once]
 *     [--zones 10000] [--skew uniform|zipf] [--zipf-s 1.1] [--anomalies 0.005] [--workers 2]
 *     [--commit-interval 200ms] [--snapshot-interval 5s] [--state redis|memory] [--producers 1] [--max N]
 *     [--zone-limits none,20000] [--fetch 1/100ms,131072/20ms] [--builds DIR,.]
 *
 * --zone-limits runs each rate with each state.maxZonesInMemory in turns
 * ("none": no limit): latency with a working set larger than the limit
 * (tiering), written to latency-tiered-<skew>.
 *
 * --fetch runs each rate with each source.fetchMinBytes/fetchMaxWait in turns
 * (how long the broker may hold a fetch to make it larger), written to
 * latency-fetch.
 *
 * A build named kafkajs-relay (`--builds kafkajs-relay,.`) runs
 * bench/kafka-relay.ts in the engine's place, at-least-once only: a kafkajs
 * consumer that sends a firing alert for each reading over 89 °C at once,
 * with the engine's fetch settings: the floor for any Kafka-in, Kafka-out
 * alerting on kafkajs, on the same load, broker and cores. Such runs are
 * written to latency-floor.
 *
 * "80%" is 80% of the engine's maximum: --max, else the engine figure for the
 * same worker count in bench/results/kafka-throughput.json (measured first if
 * that file is missing). Every topic and Redis key it creates is deleted at
 * the end, also after a failure or Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import { parseDuration } from '../src/config/durations.js';
import type { Guarantee } from '../src/config/types.js';
import { createKafka, ensureTopic } from '../src/io/kafka/client.js';
import { type BuildSpec, parseBuilds } from './builds.js';
import { writeCharts } from './charts.js';
import { baseConfig, type EngineProcess, REPO, startEngine, writeEngineConfig } from './engine-process.js';
import { environment, OUT_DIR, RESULTS_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { committed } from './kafka-backlog.js';
import { LOAD_DEFAULTS, type LoadResult } from './load-generator.js';
import { BenchResources } from './resources.js';
import { writeTargets } from './targets.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '10000,50000,100000,80%' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '8' },
    guarantees: { type: 'string', default: 'at-least-once,exactly-once' },
    zones: { type: 'string', default: String(LOAD_DEFAULTS.zones) },
    skew: { type: 'string', default: LOAD_DEFAULTS.skew },
    'zipf-s': { type: 'string', default: String(LOAD_DEFAULTS.zipfS) },
    anomalies: { type: 'string', default: String(LOAD_DEFAULTS.anomalies) },
    workers: { type: 'string', default: '2' },
    'commit-interval': { type: 'string', default: '200ms' },
    'snapshot-interval': { type: 'string', default: '5s' },
    state: { type: 'string', default: 'redis' },
    producers: { type: 'string', default: '1' },
    max: { type: 'string' },
    builds: { type: 'string', default: '.' },
    'zone-limits': { type: 'string', default: 'none' },
    fetch: { type: 'string' },
  },
});
/** The --builds entry that runs the relay (bench/kafka-relay.ts) in the engine's place. */
const RELAY = 'kafkajs-relay';
type LatencyBuild = BuildSpec & { relay: boolean };
/** Checkouts whose builds run the engine, one after the other at each rate (before/after in one run); the generator is always this one. */
const builds: LatencyBuild[] = values.builds
  .split(',')
  .map((entry) =>
    entry === RELAY
      ? { root: REPO, nodeFlags: [], engineOptions: {}, sinkOptions: {}, label: 'kafkajs relay', relay: true }
      : { ...(parseBuilds(entry)[0] as BuildSpec), relay: false },
  );
const withRelay = builds.some((build) => build.relay);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const guarantees = values.guarantees.split(',') as Guarantee[];
const zones = Number(values.zones);
const workers = Number(values.workers);
/** Exactly-once: offsets and alerts commit together in a transaction, every this often. */
const eoCommitMs = durationMs(values['commit-interval'], '--commit-interval');
/** Redis snapshot interval, for both guarantees (commits run on their own interval). */
const snapshotMs = durationMs(values['snapshot-interval'], '--snapshot-interval');
const stateType = values.state as 'redis' | 'memory';
if (stateType !== 'redis' && stateType !== 'memory') throw new Error('--state is redis or memory');
const producers = Number(values.producers);
/** state.maxZonesInMemory of each engine run at a rate, in turns (null: no limit). */
const zoneLimits = values['zone-limits'].split(',').map((limit) => (limit === 'none' ? null : Number(limit)));
if (zoneLimits.some((limit) => limit !== null && !(Number.isInteger(limit) && limit > 0))) throw new Error('--zone-limits: "none" or positive integers');
const tiered = zoneLimits.some((limit) => limit !== null);
if (tiered && stateType !== 'redis') throw new Error('--zone-limits needs --state redis (evicted zones are read back from Redis)');
/** source.fetchMinBytes and fetchMaxWait of each engine run at a rate, in turns (null: the config's). */
const fetches: Array<Fetch | null> = values.fetch === undefined ? [null] : values.fetch.split(',').map(parseFetch);
// Redis state, as in production, with no limit and the config's fetches is "latency"; the other runs go beside it, so they do not replace it.
const RESULT_NAME = withRelay
  ? 'latency-floor'
  : tiered
    ? `latency-tiered-${values.skew}`
    : values.fetch !== undefined
      ? 'latency-fetch'
      : stateType === 'redis'
        ? 'latency'
        : `latency-${stateType}`;
const PARTITIONS = 6;
const LOG_DIR = join(OUT_DIR, 'latency');
/** After the load: how long to wait for alerts still on their way, at most, and without any new one arriving. */
const DRAIN_MAX_MS = 30_000;
const DRAIN_QUIET_MS = 5_000;

const { brokers, redisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const resources = new BenchResources(kafka, redisUrl, log);
const { children } = resources;

await runBench('latency bench', main, () => resources.cleanup());

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(LOG_DIR, { recursive: true });
  const max = maxRate();
  const rates = values.rates.split(',').map((r) => (r.endsWith('%') ? Math.round((Number(r.slice(0, -1)) / 100) * max.readingsPerSecond) : Number(r)));
  log(`rates ${rates.map(n).join(', ')} readings/s (maximum ${n(max.readingsPerSecond)}/s from ${max.source}); ${seconds} s each after ${warmup} s of warm-up`);
  const runs: Run[] = [];
  for (const guarantee of guarantees) {
    for (const rate of rates) {
      for (const [index, build] of builds.entries()) {
        // The relay has no transactions: it is a floor for at-least-once only.
        if (build.relay && guarantee === 'exactly-once') continue;
        for (const zoneLimit of zoneLimits) {
          for (const fetch of fetches) {
            runs.push(await measure(guarantee, rate, build, index, zoneLimit, fetch));
            await sleep(2_000);
          }
        }
      }
    }
  }
  const settings = {
    seconds,
    warmupSeconds: warmup,
    zones,
    skew: values.skew,
    zipfS: values.skew === 'zipf' ? Number(values['zipf-s']) : null,
    anomalies: Number(values.anomalies),
    workers,
    partitions: PARTITIONS,
    state: stateType,
    atLeastOnce: { snapshotIntervalMs: stateType === 'redis' ? snapshotMs : null, commitInterval: baseConfig().source.commitInterval },
    exactlyOnce: { commitIntervalMs: eoCommitMs, snapshotIntervalMs: stateType === 'redis' ? snapshotMs : null },
    producers,
    producer: { lingerMs: LOAD_DEFAULTS.lingerMs, maxInFlight: LOAD_DEFAULTS.maxInFlight, maxBatch: LOAD_DEFAULTS.maxBatch, acks: 1 },
    engineSink: baseConfig().sink,
    maxRate: max,
    command: ['npm run bench:latency', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  };
  const totalSeconds = (performance.now() - started) / 1000;
  const markdown = report(runs, settings, totalSeconds);
  // The default (Redis state, as in production) is "latency"; other states go beside it, so a diagnostic run does not replace it.
  writeResult(RESULT_NAME, { environment: environment(), settings, runs, totalSeconds }, markdown);
  writeCharts();
  writeTargets();
  process.stdout.write(`${markdown}\n`);
}

// ------------------------------------------------------------- one run

interface Run {
  /** The engine's build (commit). */
  build: string;
  guarantee: Guarantee;
  /** state.maxZonesInMemory (null: no limit). */
  zoneLimit: number | null;
  /** source.fetchMinBytes / fetchMaxWait (null: the config's). */
  fetch: Fetch | null;
  /** Zones evicted and read back over the whole run, from the engine's counters (null: no limit, or unreadable). */
  tier: { evictions: number; reloads: number } | null;
  offeredRate: number;
  /** Alerts commit (exactly-once) or the state is snapshotted (at-least-once) this often. */
  checkpointIntervalMs: number | null;
  load: LoadSummary;
  latencyMs: { count: number; p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /**
   * The engine's share: fetch → alert handed to the sink (the producer; for exactly-once, before the
   * transaction commits), from its klaxon_alert_latency_seconds over the measured seconds, every alert
   * (not only too-hot). Percentiles interpolated within the histogram's buckets, as Prometheus does.
   */
  engineLatencyMs: { count: number; p50: number; p99: number; p999: number } | null;
  /** too-hot firings of measured readings: expected (counted by the generator) and received. */
  expected: number;
  received: number;
  duplicates: number;
  /** Load ended → last expected alert received (or the wait gave up). */
  drainMs: number;
  /** Readings not yet committed by the engine's group when the load ended. */
  lagAtEnd: number;
  engineReadyMs: number;
  /** CPU used over the load (percent of one core), per process, and the rest of the machine. */
  cores: Record<string, number>;
  otherProcesses: Array<{ command: string; percent: number }>;
  /** Per second of the measured window: alerts and their largest latency (ms). */
  timeline: Array<{ alerts: number; maxMs: number }>;
  engineSummary: string;
  /** The whole histogram (microseconds), HdrHistogram's compressed base64. */
  histogram: string;
}

async function measure(
  guarantee: Guarantee,
  rate: number,
  { root, nodeFlags, engineOptions, sinkOptions, label: build, relay }: LatencyBuild,
  buildIndex: number,
  zoneLimit: number | null,
  fetch: Fetch | null,
): Promise<Run> {
  const fetchName = fetch === null ? '' : `-f${fetch.minBytes}-${fetch.maxWaitMs}`;
  const what = `${guarantee === 'exactly-once' ? 'eo' : 'alo'}-${rate}-b${buildIndex}${zoneLimit === null ? '' : `-z${zoneLimit}`}${fetchName}`;
  const name = `${resources.tag}-${what}`;
  const limitLabel = tiered ? `, limit ${zoneLimit === null ? 'none' : n(zoneLimit)}` : '';
  const fetchLabel = fetch === null ? '' : `, fetch ${fetchText(fetch)}`;
  const label = `${builds.length > 1 ? `${build}: ` : ''}${guarantee} @ ${n(rate)}/s${limitLabel}${fetchLabel}`;
  const [readingsTopic, alertsTopic, deadTopic] = [resources.topic(`${what}-readings`), resources.topic(`${what}-alerts`), resources.topic(`${what}-dead`)];
  for (const [topic, partitions] of [
    [readingsTopic, PARTITIONS],
    [alertsTopic, PARTITIONS],
    [deadTopic, 1],
  ] as const) {
    await ensureTopic(kafka, topic, partitions);
  }
  const checkpointIntervalMs =
    stateType === 'redis' ? (guarantee === 'exactly-once' ? eoCommitMs : snapshotMs) : guarantee === 'exactly-once' ? eoCommitMs : null;
  const configPath = writeEngineConfig({
    name,
    dir: LOG_DIR,
    brokers,
    topics: { readings: readingsTopic, alerts: alertsTopic, dead: deadTopic },
    partitions: PARTITIONS,
    groupId: name,
    instanceId: name,
    workers,
    guarantee,
    ...(guarantee === 'exactly-once' ? { commitIntervalMs: eoCommitMs } : {}),
    state: stateType === 'redis' ? { type: 'redis', url: redisUrl, prefix: resources.prefix(what), snapshotIntervalMs: snapshotMs } : { type: 'memory' },
    ...(zoneLimit === null ? {} : { stateOptions: { maxZonesInMemory: zoneLimit } }),
    ...(fetch === null ? {} : { sourceOptions: { fetchMinBytes: fetch.minBytes, fetchMaxWait: fetch.maxWaitMs } }),
    metrics: true,
    engineOptions,
    sinkOptions,
  });
  const watcher = await watchAlerts(alertsTopic, `${name}-watch`);
  const engine = startEngine(configPath, children, {
    root,
    nodeArgs: nodeFlags,
    ...(relay ? { command: [join(REPO, 'dist/bench/kafka-relay.js')] } : {}),
  });
  // The relay has no metrics: no engine share.
  const engineBuckets = async () => (relay ? null : alertLatencyBuckets(await engine.metricsUrl));
  try {
    await engine.started;
    const engineReadyMs = await warmUp(readingsTopic, watcher, engine);
    log(`${label}: engine consuming ${ms(engineReadyMs)} after its start`);
    const port = new URL(redisUrl).port;
    const cpu = cpuMeter({
      engine: engine.pid,
      broker: findPid((cmdline) => cmdline.includes('kafka.Kafka')),
      redis: findPid((cmdline) => cmdline.startsWith('redis-server') && cmdline.includes(`:${port}`)),
    });
    // The engine's own latency over the measured seconds: its histogram when the warm-up ends and when the load does.
    const atWarmupEnd = sleep(warmup * 1000).then(engineBuckets);
    const load = await runGenerators(readingsTopic, rate, label, watcher);
    const loadEndedAt = performance.now();
    const engineLatencyMs = bucketPercentiles(await atWarmupEnd, await engineBuckets());
    const { cores, otherProcesses } = cpu.stop(load);
    const lagAtEnd = await groupLag(name, readingsTopic);
    await drain(watcher, load, label);
    const drainMs = Math.max(0, watcher.lastAt - loadEndedAt);
    const tier = zoneLimit === null ? null : await tierCounts(await engine.metricsUrl);
    const engineSummary = await engine.stop();
    const run = summarise({
      build,
      guarantee,
      zoneLimit,
      fetch,
      tier,
      rate,
      checkpointIntervalMs,
      load,
      watcher,
      drainMs,
      lagAtEnd,
      engineReadyMs,
      cores,
      otherProcesses,
      engineSummary,
      engineLatencyMs,
    });
    const l = run.latencyMs;
    log(
      `${label}: p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, p99.9 ${ms(l.p999)}, max ${ms(l.max)} over ${n(l.count)} alerts (${n(run.received)} / ${n(run.expected)} expected); ` +
        `engine p50 ${engineLatencyMs === null ? '-' : ms(engineLatencyMs.p50)}, p99 ${engineLatencyMs === null ? '-' : ms(engineLatencyMs.p99)}; ` +
        `producer ${load.keptUp ? 'kept up' : `fell behind (${n(load.achievedRate)}/s)`}; engine ${n(Math.round(cores.engine ?? 0))}% CPU`,
    );
    return run;
  } finally {
    engine.kill();
    await watcher.stop();
    await resources.deleteTopics([readingsTopic, alertsTopic, deadTopic]);
  }
}

/** Sends a firing-then-normal pair for a new warm-up zone every 100 ms until its alert comes back: the engine is assigned and consuming. */
async function warmUp(topic: string, watcher: Watcher, engine: EngineProcess): Promise<number> {
  const started = performance.now();
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; !watcher.warmedUp; i++) {
      if (engine.exited) throw new Error('the engine exited during the warm-up');
      if (performance.now() - started > 60_000) throw new Error('no alert within 60 s of the warm-up readings');
      const zone = `warmup-${i}`;
      const line = (temperature: number) => `{"device_id":"${zone}-d","zone_id":"${zone}","temperature":${temperature},"ts":${Date.now()}}`;
      await producer.send({ topic, messages: [line(95), line(60)].map((value) => ({ key: zone, value })) });
      await sleep(100);
    }
  } finally {
    await producer.disconnect();
  }
  return performance.now() - started;
}

// ------------------------------------------------------------- load

type LoadSummary = LoadResult & { producers: number };

/** The open-loop generator as `producers` processes (each rate/producers, its own zones); their results merged. */
async function runGenerators(topic: string, rate: number, label: string, watcher: Watcher): Promise<LoadSummary> {
  const started = performance.now();
  const progress = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const lastSecond = watcher.samples.filter((s) => s.at > Date.now() - 1000);
    const worst = lastSecond.reduce((m, s) => Math.max(m, s.latencyUs / 1000), 0);
    log(`${label}: ${elapsed.toFixed(0)} / ${warmup + seconds} s, ${n(watcher.samples.length)} alerts, last second's worst ${ms(worst)}`);
  }, 2_000);
  try {
    const results = await Promise.all(Array.from({ length: producers }, (_, index) => generatorProcess(topic, rate / producers, index)));
    const sum = (f: (r: LoadResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const worst = (f: (r: LoadResult) => { p50: number; p99: number; max: number }) => ({
      p50: Math.max(...results.map((r) => f(r).p50)),
      p99: Math.max(...results.map((r) => f(r).p99)),
      max: Math.max(...results.map((r) => f(r).max)),
    });
    return {
      producers,
      offeredRate: rate,
      startedAt: Math.min(...results.map((r) => r.startedAt)),
      // Each generator counted its expected firings from its own warm-up end; they start within milliseconds of each other.
      measureFrom: Math.max(...results.map((r) => r.measureFrom)),
      sent: sum((r) => r.sent),
      achievedRate: sum((r) => r.achievedRate),
      keptUp: results.every((r) => r.keptUp),
      scheduleLagMs: worst((r) => r.scheduleLagMs),
      batches: sum((r) => r.batches),
      ackMs: worst((r) => r.ackMs),
      anomalies: sum((r) => r.anomalies),
      expectedFiring: sum((r) => r.expectedFiring),
      expectedFiringMeasured: sum((r) => r.expectedFiringMeasured),
      seconds: Math.max(...results.map((r) => r.seconds)),
      cpuSeconds: sum((r) => r.cpuSeconds),
    };
  } finally {
    clearInterval(progress);
  }
}

function generatorProcess(topic: string, rate: number, index: number): Promise<LoadResult> {
  const args = [
    join(import.meta.dirname, 'load-generator.js'),
    ...['--brokers', brokers.join(','), '--topic', topic, '--rate', String(rate), '--seconds', String(warmup + seconds), '--warmup', String(warmup)],
    ...['--zones', String(zones), '--skew', values.skew, '--zipf-s', values['zipf-s'], '--anomalies', values.anomalies],
    ...['--producer-index', String(index), '--producer-count', String(producers), '--json'],
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let [stdout, stderr] = ['', ''];
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolveLoad, reject) =>
    child.once('exit', (code) => {
      children.delete(child);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolveLoad(JSON.parse(line));
      else reject(new Error(`load generator ${index} exited with ${code}: ${stderr.slice(-2_000)}`));
    }),
  );
}

// ------------------------------------------------------------- alerts

interface Watcher {
  warmedUp: boolean;
  /** too-hot firings of the load's zones: the reading's ts and the latency (µs) when it was received. */
  samples: Array<{ ts: number; at: number; latencyUs: number }>;
  /** Alerts received again (same alert_id). */
  duplicates: number;
  /** performance.now() of the last sample. */
  lastAt: number;
  stop(): Promise<void>;
}

/** A read_committed consumer of the alerts topic that times every too-hot firing on arrival. */
async function watchAlerts(topic: string, groupId: string): Promise<Watcher> {
  // maxWaitTimeInMs only bounds an empty fetch: a fetch returns as soon as records are there.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 20, sessionTimeout: 10_000, heartbeatInterval: 1_000, readUncommitted: false });
  const watcher: Watcher = { warmedUp: false, samples: [], duplicates: 0, lastAt: 0, stop: () => consumer.disconnect() };
  const seen = new Set<string>();
  await consumer.connect();
  const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      // One receive time per fetched batch: the records became visible together.
      const now = performance.timeOrigin + performance.now();
      for (const message of batch.messages) {
        const alert = JSON.parse(message.value?.toString() ?? '{}') as { alert_id?: string; rule?: string; status?: string; zone_id?: string; ts?: number };
        if (alert.rule !== 'too-hot' || alert.status !== 'firing' || alert.ts === undefined) continue;
        if (alert.zone_id?.startsWith('warmup-')) {
          watcher.warmedUp = true;
          continue;
        }
        // A repeat of an alert_id (at-least-once may write one twice) is timed at its first arrival only.
        if (seen.has(alert.alert_id ?? '')) {
          watcher.duplicates++;
          continue;
        }
        seen.add(alert.alert_id ?? '');
        // ts is whole milliseconds (floored), so latencies read up to 1 ms long; never below 1 µs.
        watcher.samples.push({ ts: alert.ts, at: now, latencyUs: Math.max(1, Math.round((now - alert.ts) * 1000)) });
        watcher.lastAt = performance.now();
      }
    },
  });
  await joined;
  return watcher;
}

/** Waits for the alerts of readings still on their way: until all expected are in, nothing new came for 5 s, or 30 s. */
async function drain(watcher: Watcher, load: LoadSummary, label: string): Promise<void> {
  const started = performance.now();
  const measured = () => watcher.samples.filter((s) => s.ts >= load.measureFrom).length;
  while (measured() < load.expectedFiringMeasured) {
    const now = performance.now();
    if (now - started > DRAIN_MAX_MS || now - Math.max(watcher.lastAt, started) > DRAIN_QUIET_MS) {
      log(`${label}: gave up waiting with ${n(measured())} of ${n(load.expectedFiringMeasured)} alerts in`);
      return;
    }
    await sleep(20);
  }
}

/** What a run measured, before its latencies are summarised: the Run fields taken as they are, plus the raw samples. */
type Measured = Pick<
  Run,
  | 'build'
  | 'guarantee'
  | 'zoneLimit'
  | 'fetch'
  | 'tier'
  | 'checkpointIntervalMs'
  | 'load'
  | 'drainMs'
  | 'lagAtEnd'
  | 'engineReadyMs'
  | 'cores'
  | 'otherProcesses'
  | 'engineSummary'
  | 'engineLatencyMs'
> & {
  rate: number;
  watcher: Watcher;
};

function summarise(r: Measured): Run {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const measured = r.watcher.samples.filter((s) => s.ts >= r.load.measureFrom);
  const timeline: Array<{ alerts: number; maxMs: number }> = [];
  for (const s of measured) {
    histogram.recordValue(s.latencyUs);
    const second = Math.floor((s.ts - r.load.measureFrom) / 1000);
    for (let i = timeline.length; i <= second; i++) timeline.push({ alerts: 0, maxMs: 0 });
    const slot = timeline[second] as { alerts: number; maxMs: number };
    slot.alerts++;
    slot.maxMs = Math.max(slot.maxMs, round(s.latencyUs / 1000));
  }
  const at = (p: number) => round(histogram.getValueAtPercentile(p) / 1000);
  return {
    build: r.build,
    guarantee: r.guarantee,
    zoneLimit: r.zoneLimit,
    fetch: r.fetch,
    tier: r.tier,
    offeredRate: r.rate,
    checkpointIntervalMs: r.checkpointIntervalMs,
    load: r.load,
    latencyMs: {
      count: histogram.totalCount,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: round(histogram.maxValue / 1000),
      mean: round(histogram.mean / 1000),
    },
    engineLatencyMs: r.engineLatencyMs,
    expected: r.load.expectedFiringMeasured,
    received: measured.length,
    duplicates: r.watcher.duplicates,
    drainMs: Math.round(r.drainMs),
    lagAtEnd: r.lagAtEnd,
    engineReadyMs: Math.round(r.engineReadyMs),
    cores: r.cores,
    otherProcesses: r.otherProcesses,
    timeline,
    engineSummary: r.engineSummary,
    histogram: hdr.encodeIntoCompressedBase64(histogram),
  };
}

/** A --fetch entry: source.fetchMinBytes and fetchMaxWait. */
interface Fetch {
  minBytes: number;
  maxWaitMs: number;
}

function parseFetch(entry: string): Fetch {
  const [minBytes, maxWait] = entry.split('/');
  const fetch = { minBytes: Number(minBytes), maxWaitMs: maxWait === undefined ? Number.NaN : durationMs(maxWait, '--fetch') };
  if (!(Number.isInteger(fetch.minBytes) && fetch.minBytes > 0 && fetch.maxWaitMs >= 0))
    throw new Error(`--fetch: MINBYTES/WAIT entries, e.g. 131072/20ms (got "${entry}")`);
  return fetch;
}

function fetchText(fetch: Fetch): string {
  return `${n(fetch.minBytes)} B / ${fetch.maxWaitMs} ms`;
}

/** A build's commit: its .commit file (an exported tree), else this checkout's commit. */
// ------------------------------------------------------------- the engine's own latency

/** Cumulative counts of klaxon_alert_latency_seconds by upper bound (seconds), from the engine's /metrics; null if unreadable. */
async function alertLatencyBuckets(url: string | undefined): Promise<Map<number, number> | null> {
  if (url === undefined) return null;
  try {
    const text = await (await fetch(url)).text();
    const buckets = new Map<number, number>();
    for (const match of text.matchAll(/^klaxon_alert_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
      buckets.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
    }
    return buckets.size === 0 ? null : buckets;
  } catch {
    return null;
  }
}

/** Zones evicted and read back so far, from the engine's /metrics; null if unreadable. */
async function tierCounts(url: string | undefined): Promise<Run['tier']> {
  if (url === undefined) return null;
  try {
    const text = await (await fetch(url)).text();
    const counter = (metric: string) => Number(new RegExp(`^${metric} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { evictions: counter('klaxon_zone_evictions_total'), reloads: counter('klaxon_zone_reloads_total') };
  } catch {
    return null;
  }
}

/** Percentiles (ms) of the alerts counted between two scrapes, interpolated linearly within a bucket. */
function bucketPercentiles(before: Map<number, number> | null, after: Map<number, number> | null): Run['engineLatencyMs'] {
  if (before === null || after === null) return null;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const count = cumulative.at(-1) ?? 0;
  if (count === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, p999: Number.NaN };
  const at = (p: number) => {
    const rank = (p / 100) * count;
    const i = cumulative.findIndex((c) => c >= rank);
    const upper = bounds[i] as number;
    const lower = i === 0 ? 0 : (bounds[i - 1] as number);
    // Past the last finite bound: the largest finite bound is all that can be said.
    if (!Number.isFinite(upper)) return round(lower * 1000);
    const below = i === 0 ? 0 : (cumulative[i - 1] as number);
    const inBucket = (cumulative[i] as number) - below;
    return round((lower + ((upper - lower) * (rank - below)) / Math.max(1, inBucket)) * 1000);
  };
  return { count, p50: at(50), p99: at(99), p999: at(99.9) };
}

// ------------------------------------------------------------- machine

/**
 * CPU over the load from /proc: the engine, broker and Redis by pid, the
 * generator by its own count, this process, the whole machine, and "other"
 * (the rest); stop() gives percent of one core. Other processes that took
 * over 10% are named: on a shared machine, what else ran matters.
 */
function cpuMeter(pids: Record<string, number | undefined>) {
  const before = { at: performance.now(), machine: machineTicks(), self: process.cpuUsage(), processes: processTicks() };
  return {
    stop(load: { cpuSeconds: number }): { cores: Record<string, number>; otherProcesses: Array<{ command: string; percent: number }> } {
      const wallSeconds = (performance.now() - before.at) / 1000;
      const after = processTicks();
      // 100 ticks per second: ticks per second is percent of one core.
      const percent = (ticks: number) => Math.round(ticks / wallSeconds);
      const delta = (pid: number) => (after.get(pid)?.ticks ?? Number.NaN) - (before.processes.get(pid)?.ticks ?? 0);
      const cores: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) cores[k] = pid === undefined ? Number.NaN : percent(delta(pid));
      const self = process.cpuUsage(before.self);
      cores.producer = Math.round((100 * load.cpuSeconds) / wallSeconds);
      cores.runner = Math.round((self.user + self.system) / 1e4 / wallSeconds);
      cores.machine = percent(machineTicks() - before.machine);
      const ours = Object.entries(cores)
        .filter(([k, v]) => k !== 'machine' && Number.isFinite(v))
        .reduce((a, [, v]) => a + v, 0);
      cores.other = Math.max(0, cores.machine - ours);
      const mine = new Set([process.pid, ...Object.values(pids)]);
      const otherProcesses = [...after]
        .filter(([pid]) => !mine.has(pid))
        .map(([pid, p]) => ({ command: p.command, percent: percent(delta(pid)) }))
        .filter((p) => p.percent > 10)
        .sort((a, b) => b.percent - a.percent);
      return { cores, otherProcesses };
    },
  };
}

/** Busy ticks of the whole machine (user, nice, system, irq, softirq, steal) from /proc/stat. */
function machineTicks(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
  return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (fields[i] ?? 0), 0);
}

/** Every process's CPU ticks (user + system, all threads) and a short command line. */
function processTicks(): Map<number, { ticks: number; command: string }> {
  const processes = new Map<number, { ticks: number; command: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      // Kernel threads have no command line: their name, in brackets as ps shows them.
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ').trim();
      const command = (cmdline || `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`).slice(0, 80);
      processes.set(Number(entry), { ticks: Number(fields[11]) + Number(fields[12]), command });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return processes;
}

/** The process whose command line passes `test` (the services may have been restarted since their pid files were written). */
function findPid(test: (cmdline: string) => boolean): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (test(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '))) return Number(entry);
    } catch {
      // Gone between the listing and the read.
    }
  }
  return undefined;
}

// ------------------------------------------------------------- Kafka and Redis housekeeping

/** Readings produced but not yet committed by the engine's group. */
async function groupLag(groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await committed(admin, groupId, topic);
    return offsets.end - offsets.committed;
  } finally {
    await admin.disconnect();
  }
}

/** The engine's 2-worker maximum (readings/s) for the "80%" rate. */
function maxRate(): { readingsPerSecond: number; source: string } {
  if (values.max !== undefined) return { readingsPerSecond: Number(values.max), source: '--max' };
  const file = join(RESULTS_DIR, 'kafka-throughput.json');
  if (!existsSync(file)) {
    log('no bench/results/kafka-throughput.json: measuring the maximum first (npm run bench -- --only throughput, 500,000 readings)');
    const args = ['--only', 'throughput', '--readings', '500000', '--workers', String(workers), '--processes', '1', '--no-report'];
    execFileSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'run.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  type EngineRun = { workers: number; processes?: number; readingsPerSecond: number };
  const result = JSON.parse(readFileSync(file, 'utf8')) as { environment: { date: string }; settings: { state?: string }; engineRuns: EngineRun[] };
  const single = result.engineRuns.filter((r) => (r.processes ?? 1) === 1);
  const run = single.find((r) => r.workers === workers) ?? (single.at(-1) as EngineRun);
  return {
    readingsPerSecond: run.readingsPerSecond,
    source: `bench/results/kafka-throughput.json of ${result.environment.date}: engine, ${run.workers} workers, Kafka → Kafka, state ${result.settings.state ?? 'in memory'}`,
  };
}

// ------------------------------------------------------------- report

function report(runs: Run[], settings: { command: string; maxRate: { readingsPerSecond: number; source: string } }, totalSeconds: number): string {
  const rows = runs.map((r) => {
    const l = r.latencyMs;
    const target = r.guarantee === 'exactly-once' ? (r.checkpointIntervalMs ?? 0) + 10 : 10;
    return {
      ...(builds.length > 1 ? { build: r.build } : {}),
      guarantee: r.guarantee,
      ...(tiered
        ? {
            maxZonesInMemory: r.zoneLimit === null ? 'none' : n(r.zoneLimit),
            'evicted / read back': r.tier === null ? '-' : `${n(r.tier.evictions)} / ${n(r.tier.reloads)}`,
          }
        : {}),
      ...(values.fetch !== undefined ? { 'fetch min bytes / max wait': r.fetch === null ? 'config' : fetchText(r.fetch) } : {}),
      'offered/s': n(r.offeredRate),
      'achieved/s': n(r.load.achievedRate),
      producer: r.load.keptUp ? 'kept up' : '**fell behind**',
      'schedule lag p99 / max ms': `${r.load.scheduleLagMs.p99} / ${r.load.scheduleLagMs.max}`,
      'hand-off→ack p99 ms': r.load.ackMs.p99,
      'alerts (received / expected)': `${n(r.received)} / ${n(r.expected)}${r.duplicates > 0 ? ` (+${n(r.duplicates)} repeated)` : ''}`,
      'p50 ms': l.p50,
      'p99 ms': l.p99,
      'p99.9 ms': l.p999,
      'max ms': l.max,
      'engine p50 / p99 ms': r.engineLatencyMs === null ? '-' : `${r.engineLatencyMs.p50} / ${r.engineLatencyMs.p99}`,
      'drain ms': n(r.drainMs),
      'lag at end': n(r.lagAtEnd),
      'CPU % engine / producer / broker / redis / other': ['engine', 'producer', 'broker', 'redis', 'other'].map((k) => r.cores[k] ?? '-').join(' / '),
      'p99 target': `${target} ms: ${l.p99 < target ? 'met' : 'missed'}`,
    };
  });
  return `# End-to-end latency: produce → alert on the alerts topic

Open-loop load (bench/load-generator.ts) over ${n(zones)} zones (${values.skew}${values.skew === 'zipf' ? `, s = ${values['zipf-s']}` : ''}), ${Number(values.anomalies) * 100}% of readings at 95 °C so \`too-hot\` (> 89) fires and resolves. Latency = the time a read_committed consumer receives a \`too-hot\` firing alert − the alert's \`ts\`, which is its reading's produce time (\`Date.now()\` as the reading was handed to the producer). HDR histogram; the first ${warmup} s of each run discarded, then ${seconds} s measured.

The engine runs as its own process (\`klaxon run\`, cluster.config.json pointed at fresh topics: readings ${PARTITIONS} partitions, alerts ${PARTITIONS}, dead letters 1), ${workers} workers, state ${stateType === 'redis' ? 'in Redis' : 'in memory'}.${tiered ? ` Tiering: each rate runs once per state.maxZonesInMemory in turns ("none": every zone stays in memory); a zone is evicted once a saved snapshot holds it and read back from Redis at its next reading, so with a limit under the ${n(zones)} zones a share of the readings waits for a read from Redis. "evicted / read back": the engine's klaxon_zone_evictions_total and klaxon_zone_reloads_total at the end of the run.` : ''}${values.fetch !== undefined ? ` Fetch size: each rate runs once per source.fetchMinBytes / fetchMaxWait in turns ("config": the config's); the broker holds a fetch until that many bytes are ready or the wait has passed, so the wait is in the end-to-end latency and not in the engine's share, which starts at the fetch.` : ''} At-least-once: alerts go out as they are found (Kafka sink linger ${baseConfig().sink.linger}, unless a build's name says \`sink.linger=…\`)${stateType === 'redis' ? `, snapshots every ${snapshotMs} ms` : ''}. Exactly-once: alerts, dead letters and offsets commit in one transaction every ${eoCommitMs} ms${stateType === 'redis' ? `, snapshots every ${snapshotMs} ms as for at-least-once` : ''}. "80%" of the maximum: ${n(settings.maxRate.readingsPerSecond)} readings/s from ${settings.maxRate.source}.${withRelay ? `\n\n"kafkajs relay" (bench/kafka-relay.ts) runs in the engine's place: a kafkajs consumer with the engine's fetch settings that sends a firing \`too-hot\` alert for every reading over 89 °C at once, one send at a time with acks from all replicas, and does nothing else (no state, no workers, no other rules). It is the floor for any Kafka-in, Kafka-out alerting on kafkajs on this machine: what the engine adds is its figure minus the relay's from the same run. It fires on every hot reading, the engine once per episode: the counts differ by the few readings that find their zone already firing.` : ''}

"engine p50 / p99": the engine's own share of every alert's latency (not only too-hot), from the moment kafkajs hands it the fetched batch to the alert handed to the sink's producer (for exactly-once: before the transaction commits, so without the wait for the commit), from its \`klaxon_alert_latency_seconds\` histogram over the measured seconds, interpolated within buckets (0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 50 ms …).

The generator shares the 2 cores with the engine, the broker and Redis. It writes Kafka produce requests itself (bench/raw-producer.ts: kafkajs's producer cost ~16 µs of CPU per reading here). It stamps each reading as it hands it to the producer, so its own lateness is not in the latency; it is reported as "schedule lag" (how late batches were handed over against the open-loop schedule), and "fell behind" means under 97% of the offered rate or more than 250 ms late at some point: the engine then saw the achieved rate, not the offered one. "hand-off→ack" is the producer's and broker's part. "drain" is from the load's end to the last alert. "lag at end": readings not yet committed by the engine's group when the load ended (at-least-once commits every ${baseConfig().source.commitInterval}, exactly-once at each transaction commit). CPU: percent of one core over the load, from /proc; "other" is everything else on the machine (other users' builds and tests, the kernel), named below the table when it was over 10%.

${table(rows)}
${others(runs)}
Command: \`${settings.command}\`. Whole bench: ${totalSeconds.toFixed(0)} s. Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function durationMs(value: string, flag: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new Error(`${flag}: not a duration: ${value}`);
  return parsed;
}

/** The other processes that took more than 10% of a core during a run: a shared machine's noise, named. */
function others(runs: Run[]): string {
  const lines = runs
    .filter((r) => r.otherProcesses.length > 0)
    .map((r) => `- ${r.guarantee} @ ${n(r.offeredRate)}/s: ${r.otherProcesses.map((p) => `${p.command} ${p.percent}%`).join(', ')}`);
  return lines.length === 0 ? '' : `\nOther processes over 10% of a core during a run:\n\n${lines.join('\n')}\n`;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function ms(x: number): string {
  return `${x < 10 ? x.toFixed(1) : n(Math.round(x))} ms`;
}

function log(line: string): void {
  process.stderr.write(`[latency-bench] ${line}\n`);
}
