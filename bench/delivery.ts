/**
 * What a webhook delivery costs the Kafka path: the same backlog, Kafka →
 * engine process → Kafka, with no delivery sink, with a webhook whose
 * receiver never answers, and with one that answers at once. Runs alternate
 * (A B C, B C A, …) so the shared machine's drift falls on every variant
 * alike; each is timed on the group's committed offsets, as the throughput
 * bench does, and the engine process's own CPU time is read from /proc: on a
 * machine others share, what the engine spent is steadier than how fast it
 * went. The receivers are HTTP servers in this process.
 *
 *   npm run bench:delivery -- [--readings 2000000] [--zones 10000] [--rounds 3] [--workers 2]
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafka, ensureTopic } from '../src/io/kafka/client.js';
import { startEngine, summaryCounts, writeEngineConfig } from './engine-process.js';
import { environment, OUT_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { committed, kafkaVersion, produceBacklog, settle, showProgress, timing, watchCount } from './kafka-backlog.js';
import { benchPlant, readingTs } from './make-stream.js';
import { BenchResources } from './resources.js';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '2000000' },
    zones: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
  },
});
const o = { readings: Number(values.readings), zones: Number(values.zones), rounds: Number(values.rounds), workers: Number(values.workers), partitions: 6 };

const LOG_DIR = join(OUT_DIR, 'delivery');
const VARIANTS = ['no delivery sink', 'webhook, receiver never answers', 'webhook, receiver answers at once'] as const;
type Variant = (typeof VARIANTS)[number];

interface Run {
  variant: Variant;
  round: number;
  readingsPerSecond: number;
  seconds: number;
  /** CPU seconds the engine process (all its threads) spent from its start to the backlog committed. */
  engineCpuSeconds: number;
  alerts: number;
  /** The delivery's counters at the end of the backlog (from the engine's /metrics), if it has one. */
  delivery?: DeliveryCounters;
}

function log(line: string): void {
  process.stderr.write(`[bench delivery] ${line}\n`);
}

const n = (x: number) => x.toLocaleString('en-US');

/** A receiver in this process: `hang` keeps every request open (until the bench ends), otherwise 200 at once. */
async function receiver(hang: boolean): Promise<{ url: string; server: Server; requests: () => number }> {
  let requests = 0;
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      if (hang) open.add(res);
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.on('close', () => {
    for (const res of open) res.destroy();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, server, requests: () => requests };
}

interface DeliveryCounters {
  sent: number;
  dropped: number;
  failed: number;
  queued: number;
}

/** The delivery counters in a Prometheus text page (summed over targets). */
function deliveryCounters(metrics: string): DeliveryCounters {
  const sum = (name: string) =>
    metrics
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    sent: sum('klaxon_delivery_sent_total'),
    dropped: sum('klaxon_delivery_dropped_total'),
    failed: sum('klaxon_delivery_failed_total'),
    queued: sum('klaxon_delivery_queue_depth'),
  };
}

/** A process's CPU time (user + system, all threads) in seconds; /proc counts it in ticks of 1/100 s (USER_HZ on Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The engine's metrics URL, from its `http listening` log line. */
async function metricsUrl(logPath: string): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises');
  const line = (await readFile(logPath, 'utf8')).split('\n').find((l) => l.includes('"http listening"'));
  return line === undefined ? undefined : `${(JSON.parse(line) as { url: string }).url}/metrics`;
}

const services = startServices();
const kafka = createKafka(services.brokers, 'klaxon-bench-delivery');
const resources = new BenchResources(kafka, services.redisUrl, log);
const servers: Server[] = [];

await runBench(
  'bench delivery',
  async () => {
    const started = performance.now();
    const readingsTopic = resources.topic('readings');
    const plant = benchPlant({ zones: o.zones, seed: 7 });
    const produce = await produceBacklog(
      services.brokers,
      readingsTopic,
      o.partitions,
      o.readings,
      (i) => plant.next(readingTs(i, o.zones)).line,
      (label, count, total) => showProgress(label, count, total, log),
    );
    log(`produced ${n(o.readings)} readings at ${n(produce.readingsPerSecond)}/s`);
    const silent = await receiver(true);
    const answering = await receiver(false);
    servers.push(silent.server, answering.server);
    const deliveries: Record<Variant, Array<Record<string, unknown>> | undefined> = {
      'no delivery sink': undefined,
      // The defaults a person would start from: 10 s timeout, a 10,000-alert queue that drops its oldest.
      'webhook, receiver never answers': [{ type: 'webhook', url: silent.url }],
      'webhook, receiver answers at once': [{ type: 'webhook', url: answering.url }],
    };
    const runs: Run[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const variant = VARIANTS[(k + round - 1) % VARIANTS.length] as Variant;
        await settle();
        runs.push(await engineRun(readingsTopic, variant, round, deliveries[variant]));
      }
    }
    const result = {
      environment: environment(),
      broker: { version: kafkaVersion(), brokers: services.brokers },
      settings: o,
      produce,
      runs,
      receivers: { silentRequests: silent.requests(), answeringRequests: answering.requests() },
      totalSeconds: (performance.now() - started) / 1000,
    };
    const markdown = report(runs, result.totalSeconds);
    writeResult('delivery', result, markdown);
    process.stdout.write(`${markdown}\n`);
  },
  async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    for (const child of resources.children) child.kill('SIGKILL');
    await resources.deleteTopics();
    await resources.deleteKeys();
  },
);

async function engineRun(readingsTopic: string, variant: Variant, round: number, deliveries: Array<Record<string, unknown>> | undefined): Promise<Run> {
  const what = `r${round}-${VARIANTS.indexOf(variant)}`;
  const groupId = `${resources.tag}-${what}`;
  const topics = { readings: readingsTopic, alerts: resources.topic(`${what}-alerts`), dead: resources.topic(`${what}-dead`) };
  await ensureTopic(kafka, topics.alerts, o.partitions);
  await ensureTopic(kafka, topics.dead, 1);
  const prefix = resources.prefix(what);
  const engine = startEngine(
    writeEngineConfig({
      name: groupId,
      dir: LOG_DIR,
      brokers: services.brokers,
      topics,
      partitions: o.partitions,
      groupId,
      instanceId: groupId,
      workers: o.workers,
      state: { type: 'redis', url: services.redisUrl, prefix },
      ...(deliveries === undefined ? {} : { deliveries }),
      http: { port: 0 },
    }),
    resources.children,
  );
  const admin = kafka.admin();
  const label = `${variant} (round ${round})`;
  const begun = performance.now();
  try {
    await engine.started;
    await admin.connect();
    const seen = await watchCount({
      label,
      total: o.readings,
      pollMs: 100,
      stallMs: 120_000,
      log,
      count: async () => (await committed(admin, groupId, readingsTopic)).committed,
      failed: () => (engine.exited ? new Error(`${label}: the engine exited; see ${engine.logPath}`) : undefined),
    });
    const engineCpuSeconds = cpuSeconds(engine.pid);
    const url = await metricsUrl(engine.logPath);
    const metrics = url === undefined ? undefined : await (await fetch(url)).text();
    const summary = await engine.stop();
    const t = timing(begun, seen, o.readings);
    const run: Run = {
      variant,
      round,
      readingsPerSecond: t.readingsPerSecond,
      seconds: t.seconds,
      engineCpuSeconds,
      alerts: summaryCounts(summary)?.alerts ?? Number.NaN,
      ...(deliveries === undefined || metrics === undefined ? {} : { delivery: deliveryCounters(metrics) }),
    };
    log(
      `${label}: ${n(run.readingsPerSecond)} readings/s, engine CPU ${engineCpuSeconds.toFixed(1)} s, ${n(run.alerts)} alerts${run.delivery ? `, delivery ${JSON.stringify(run.delivery)}` : ''}`,
    );
    return run;
  } finally {
    engine.kill();
    await admin.disconnect().catch(() => {});
    await resources.deleteTopics([topics.alerts, topics.dead]);
    await resources.deleteKeys([prefix]);
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function report(runs: Run[], totalSeconds: number): string {
  const of = (variant: Variant, read: (r: Run) => number) => median(runs.filter((r) => r.variant === variant).map(read));
  const [rate, cpu] = [of('no delivery sink', (r) => r.readingsPerSecond), of('no delivery sink', (r) => r.engineCpuSeconds)];
  const summary = VARIANTS.map((variant) => {
    const mine = runs.filter((r) => r.variant === variant);
    return {
      variant,
      'median readings/s': n(Math.round(of(variant, (r) => r.readingsPerSecond))),
      'vs no delivery sink': `${((100 * of(variant, (r) => r.readingsPerSecond)) / rate).toFixed(1)}%`,
      'median engine CPU s': of(variant, (r) => r.engineCpuSeconds).toFixed(1),
      'CPU vs no delivery sink': `${((100 * of(variant, (r) => r.engineCpuSeconds)) / cpu).toFixed(1)}%`,
      'each run (readings/s)': mine.map((r) => n(r.readingsPerSecond)).join(', '),
    };
  });
  const rows = runs.map((r) => ({
    round: r.round,
    variant: r.variant,
    'readings/s': n(r.readingsPerSecond),
    seconds: r.seconds.toFixed(2),
    'engine CPU s': r.engineCpuSeconds.toFixed(1),
    alerts: n(r.alerts),
    'sent / dropped / failed / queued':
      r.delivery === undefined ? '' : `${n(r.delivery.sent)} / ${n(r.delivery.dropped)} / ${n(r.delivery.failed)} / ${n(r.delivery.queued)}`,
  }));
  return `# A webhook delivery and the Kafka path

${n(o.readings)} readings over ${n(o.zones)} zones in a ${o.partitions}-partition topic (local Kafka ${kafkaVersion()}), consumed by one engine process (\`klaxon run\`, cluster.config.json, ${o.workers} workers, Redis snapshots every 5 s, at-least-once) writing alerts to Kafka; with no delivery sink, or with a webhook sink (defaults: batches of 100, 10 s timeout, a queue of 10,000 that drops its oldest) whose receiver, an HTTP server in the bench process, never answers or answers 200 at once. Each run is timed on the group's committed offsets, from the first commit to the one covering the backlog; "engine CPU" is the engine process's CPU time (all threads, /proc) from its start to that commit, which other load on the shared machine disturbs less than the rate. ${o.rounds} rounds, the variants' order rotating each round. The delivery counters are the engine's own /metrics at the end of the backlog (in-flight requests are neither sent nor dropped yet).

${table(summary)}

${table(rows)}

Whole bench: ${totalSeconds.toFixed(0)} s. Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}
