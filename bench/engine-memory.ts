/**
 * Memory of the engine as it runs in production, per zone: `klaxon run` as
 * its own process (cluster.config.json, 2 workers, Redis snapshots every
 * 5 s to a Redis of the bench's own), on a backlog of `--readings-per-zone`
 * readings for each of Z zones. For each zone count, two engines in turn:
 *
 * 1. first start. With `--fill new` (the default) every zone is new, so the
 *    first snapshots write every zone whole; with `--fill full` Redis is
 *    seeded first with snapshots of Z long-running zones (zone-templates.ts:
 *    a full history, and panes as occupied as reading every Z / 150,000 s
 *    makes them), which the engine loads before it reads the backlog
 *    (readings that follow on at that rate). Then steady state (at least two
 *    snapshots);
 * 2. restart (same group and prefix): every partition's snapshot is loaded
 *    into the workers; then steady state again.
 *
 * Sampled every 250 ms: the process's resident memory (VmRSS) and its peak
 * (VmHWM), and from /metrics the coordinator's V8 heap and the workers' V8
 * heaps and ArrayBuffers, so that "resident per zone" can be taken apart.
 *
 * `--builds` names checkouts (built) whose engines are measured in turns,
 * per zone count (`.` is this one): before/after figures from one run.
 *
 *   npm run bench:engine-memory -- [--zones 200000,500000] [--readings-per-zone 3] [--fill new|full] [--builds /path/to/other,.,.+engine.batchSize=1000] [--workers 2] [--state-options '{"maxZonesInMemory":100000}']
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { snapshotIdentity, UpdatePacker } from '../src/engine/zone-image.js';
import { createKafka, ensureTopic } from '../src/io/kafka/client.js';
import { Partitioners } from '../src/io/kafka/kafkajs.js';
import { RedisStateStore } from '../src/state/redis-store.js';
import { type BuildSpec, parseBuilds } from './builds.js';
import { type EngineProcess, startEngine, writeEngineConfig } from './engine-process.js';
import { environment, OUT_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { committed, produceBacklog, settle, showProgress } from './kafka-backlog.js';
import { readingTs } from './make-stream.js';
import { type BenchRedis, startPrivateRedis } from './private-redis.js';
import { BenchResources } from './resources.js';
import { DEFAULT_RULES } from './rules.js';
import { intervalAt, TEMPLATE_END_TS, THROUGHPUT, zoneTemplates } from './zone-templates.js';

const { values } = parseArgs({
  options: {
    zones: { type: 'string', default: '200000,500000' },
    'readings-per-zone': { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    'state-options': { type: 'string', default: '{}' },
    fill: { type: 'string', default: 'new' },
    builds: { type: 'string', default: '.' },
    'steady-seconds': { type: 'string', default: '15' },
    name: { type: 'string', default: 'engine-memory' },
  },
});
const zoneCounts = values.zones.split(',').map(Number);
const perZone = Number(values['readings-per-zone']);
const workers = Number(values.workers);
const stateOptions = JSON.parse(values['state-options']) as Record<string, unknown>;
const steadyMs = Number(values['steady-seconds']) * 1000;
const fill = values.fill === 'full' ? 'full' : 'new';
const builds = parseBuilds(values.builds);
const PARTITIONS = 6;
const LOG_DIR = join(OUT_DIR, 'engine-memory');

const { brokers, redisUrl: sharedRedisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const resources = new BenchResources(kafka, sharedRedisUrl, log);
let redis: BenchRedis | undefined;

interface Sample {
  at: number;
  rss: number;
  coordinatorHeap: number;
  workerHeap: number;
  workerBuffers: number;
  zones: number;
  snapshots: number;
}

interface PhaseFigures {
  /** Resident memory (median over the steady window), and the peak the kernel saw (VmHWM) over the engine's life. */
  steadyRss: number;
  peakRss: number;
  coordinatorHeap: number;
  workerHeap: number;
  workerBuffers: number;
  zones: number;
  /** Seconds from the engine's start to every record committed (first start) or every zone restored (restart). */
  seconds: number;
}

async function main(): Promise<void> {
  const runs = [];
  for (const zones of zoneCounts) {
    for (const build of builds) {
      await settle();
      runs.push(await measure(zones, build));
    }
  }
  const markdown = report(runs);
  writeResult(
    values.name,
    {
      environment: environment(),
      settings: { zoneCounts, perZone, fill, builds: builds.map((b) => b.label), workers, stateOptions, partitions: PARTITIONS },
      runs,
    },
    markdown,
  );
  process.stdout.write(`${markdown}\n`);
}

async function measure(zones: number, build: BuildSpec) {
  const own = await startPrivateRedis();
  redis = own;
  const topic = resources.topic(`memory-${zones}`);
  const group = `${resources.tag}-memory-${zones}`;
  const prefix = `${resources.tag}-memory`;
  await ensureTopic(kafka, topic, PARTITIONS);
  const total = zones * perZone;
  const interval = intervalAt(zones);
  // Round r of a full backlog reads every zone once, `interval` after the round before (after the templates' last reading).
  const ts = (i: number) =>
    fill === 'full' ? TEMPLATE_END_TS + Math.round((Math.floor(i / zones) + 1 + (i % zones) / zones) * interval) : readingTs(i, zones);
  const line = (i: number) => {
    const zone = i % zones;
    const temperature = (60 + (zone % 20) + ((i * 37) % 100) / 100).toFixed(2);
    return `{"device_id":"dev-${zone}-0","zone_id":"zone-${zone}","temperature":${temperature},"ts":${ts(i)}}`;
  };
  if (fill === 'full') await seed(own.url, prefix, topic, zones);
  await produceBacklog(brokers, topic, PARTITIONS, total, line, (label, count, all) => showProgress(label, count, all, log));
  log(`produced ${n(total)} readings over ${n(zones)} zones`);
  const config = writeEngineConfig({
    name: `memory-${zones}`,
    dir: LOG_DIR,
    brokers,
    topics: { readings: topic, alerts: resources.topic(`alerts-${zones}`), dead: resources.topic(`dead-${zones}`) },
    partitions: PARTITIONS,
    groupId: group,
    instanceId: `${resources.tag}-memory`,
    workers,
    state: { type: 'redis', url: own.url, prefix },
    stateOptions,
    engineOptions: build.engineOptions,
    sinkOptions: build.sinkOptions,
    metrics: true,
  });
  // Seeded zones are part of what the store holds for them.
  const usedBefore = fill === 'full' ? 0 : own.usedMemory();

  const first = await run('first start', build, config, zones, async (sampler, engine) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (;;) {
        if ((await committed(admin, group, topic)).committed >= total) return;
        if (engine.exited) throw new Error(`the engine exited; see ${engine.logPath}`);
        await sleep(250);
      }
    } finally {
      await admin.disconnect();
      void sampler;
    }
  });
  const redisBytes = own.usedMemory() - usedBefore;
  await settle();
  const restart = await run('restart', build, config, zones, async (sampler, engine) => {
    // Restored: the workers hold every zone again (or, with tiering, what the limit allows after the first snapshots).
    for (;;) {
      const last = sampler.latest();
      if (last !== undefined && last.zones > 0 && sampler.stableZones(2_000)) return;
      if (engine.exited) throw new Error(`the engine exited; see ${engine.logPath}`);
      await sleep(250);
    }
  });
  own.stop();
  redis = undefined;
  await resources.deleteTopics([topic]);
  return { zones, build: build.label, readings: total, redisBytesPerZone: redisBytes / zones, first, restart };
}

/**
 * Snapshots of `zones` long-running zones (templates, round robin), each
 * under the partition its readings go to (kafkajs's default partitioner, as
 * the producer keys them), resuming at offset 0: the engine loads them, then
 * reads the whole backlog on top.
 */
async function seed(url: string, prefix: string, topic: string, zones: number): Promise<void> {
  const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...DEFAULT_RULES }, { baseDir: '/' });
  const templates = Array.from({ length: PARTITIONS }, (_, partition) =>
    zoneTemplates({ window: config.window, versions: config.versions }, intervalAt(zones), 32, partition),
  );
  const store = await RedisStateStore.connect({ url }, prefix, topic, snapshotIdentity(config.window));
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const byPartition = Array.from({ length: PARTITIONS }, () => [] as number[]);
  for (let zone = 0; zone < zones; zone++) {
    const partition = partitioner({ topic, partitionMetadata, message: { key: `zone-${zone}`, value: null } });
    byPartition[partition]?.push(zone);
  }
  try {
    for (const [partition, members] of byPartition.entries()) {
      for (let from = 0; from < members.length; from += 5_000) {
        const packer = new UpdatePacker();
        const images = templates[partition] ?? [];
        for (const zone of members.slice(from, from + 5_000)) packer.addImage(`zone-${zone}`, images[zone % images.length] as Uint8Array);
        const outcome = await store.save(partition, packer.finish(), 0, from === 0 ? null : 0, from === 0);
        if (outcome !== 'saved') throw new Error(`seeding partition ${partition}: ${outcome}`);
      }
    }
  } finally {
    await store.close();
  }
  log(`seeded ${n(zones)} zones (templates read every ${(intervalAt(zones) / 1000).toFixed(2)} s)`);
}

/** Starts an engine, samples it until `until` resolves and then for the steady window (with at least two snapshots in it), stops it. */
async function run(
  label: string,
  build: BuildSpec,
  config: string,
  zones: number,
  until: (sampler: Sampler, engine: EngineProcess) => Promise<void>,
): Promise<PhaseFigures & { stopSummary: string; samples: Sample[] }> {
  const engine = startEngine(config, resources.children, { root: build.root, nodeArgs: build.nodeFlags });
  const started = performance.now();
  await engine.started;
  const sampler = new Sampler(engine, await engine.metricsUrl);
  try {
    await until(sampler, engine);
    const reached = (performance.now() - started) / 1000;
    log(`${label}, ${n(zones)} zones: reached after ${reached.toFixed(1)} s; steady window…`);
    const snapshotsAt = sampler.latest()?.snapshots ?? 0;
    const steadyFrom = performance.now();
    while (performance.now() - steadyFrom < steadyMs || (sampler.latest()?.snapshots ?? 0) < snapshotsAt + 2) await sleep(250);
    const steady = sampler.since(steadyFrom);
    const figures: PhaseFigures = {
      steadyRss: median(steady.map((s) => s.rss)),
      peakRss: peakResident(engine.pid),
      coordinatorHeap: median(steady.map((s) => s.coordinatorHeap)),
      workerHeap: median(steady.map((s) => s.workerHeap)),
      workerBuffers: median(steady.map((s) => s.workerBuffers)),
      zones: sampler.latest()?.zones ?? 0,
      seconds: reached,
    };
    log(`${label}: steady ${mib(figures.steadyRss)} resident (${n(Math.round(figures.steadyRss / zones))} B/zone), peak ${mib(figures.peakRss)}`);
    const stopSummary = await engine.stop();
    return { ...figures, stopSummary, samples: sampler.all() };
  } finally {
    sampler.stop();
    engine.kill();
  }
}

class Sampler {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly engine: EngineProcess,
    private readonly metricsUrl: string,
  ) {
    this.timer = setInterval(() => void this.take(), 250);
  }

  private async take(): Promise<void> {
    if (this.busy || this.engine.exited) return;
    this.busy = true;
    try {
      const text = await (await fetch(this.metricsUrl)).text();
      const sum = (name: string) => metricValues(text, name).reduce((a, b) => a + b, 0);
      this.samples.push({
        at: performance.now(),
        rss: resident(this.engine.pid),
        coordinatorHeap: sum('klaxon_nodejs_heap_size_used_bytes'),
        workerHeap: sum('klaxon_worker_heap_bytes'),
        workerBuffers: sum('klaxon_worker_array_buffer_bytes'),
        zones: sum('klaxon_worker_zones'),
        snapshots: sum('klaxon_snapshots_total'),
      });
    } catch {
      // A scrape that fails (the engine stopping) is skipped.
    } finally {
      this.busy = false;
    }
  }

  latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  /** Whether the zone count has not moved for `ms`. */
  stableZones(ms: number): boolean {
    const last = this.latest();
    if (last === undefined) return false;
    const window = this.samples.filter((s) => s.at >= last.at - ms);
    return (window[0]?.at ?? last.at) <= last.at - ms + 500 && window.every((s) => s.zones === last.zones);
  }

  since(from: number): Sample[] {
    return this.samples.filter((s) => s.at >= from);
  }

  all(): Sample[] {
    return this.samples;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Every sample of one metric in Prometheus text (any labels). */
function metricValues(text: string, name: string): number[] {
  const found: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) found.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return found;
}

function procStatus(pid: number, field: string): number {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

const resident = (pid: number) => procStatus(pid, 'VmRSS');
const peakResident = (pid: number) => procStatus(pid, 'VmHWM');

function median(xs: number[]): number {
  const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function report(runs: Awaited<ReturnType<typeof measure>>[]): string {
  const rows = runs.flatMap((r) =>
    (['first', 'restart'] as const).map((phase) => {
      const f = r[phase];
      return {
        zones: n(r.zones),
        ...(builds.length > 1 ? { build: r.build } : {}),
        phase:
          phase === 'restart'
            ? 'restart (snapshots loaded)'
            : fill === 'full'
              ? 'first start (seeded zones loaded, then the backlog)'
              : 'first start (every zone new)',
        'resident, steady': mib(f.steadyRss),
        'resident/zone, steady': `${n(Math.round(f.steadyRss / r.zones))} B`,
        'peak resident': mib(f.peakRss),
        'peak/zone': `${n(Math.round(f.peakRss / r.zones))} B`,
        'workers: ArrayBuffers/zone': `${n(Math.round(f.workerBuffers / r.zones))} B`,
        'workers: V8 heap/zone': `${n(Math.round(f.workerHeap / r.zones))} B`,
        'coordinator V8 heap': mib(f.coordinatorHeap),
        'zones resident': n(f.zones),
        seconds: f.seconds.toFixed(1),
      };
    }),
  );
  const redisRows = runs.map((r) => ({
    zones: n(r.zones),
    ...(builds.length > 1 ? { build: r.build } : {}),
    'Redis used_memory/zone': `${n(Math.round(r.redisBytesPerZone))} B`,
  }));
  const filled =
    fill === 'full'
      ? `Redis is seeded first with snapshots of long-running zones (bench/zone-templates.ts: a full history of W readings, and panes as occupied as reading every Z / ${n(THROUGHPUT)} s makes them: ${zoneCounts.map((zones) => `${(intervalAt(zones) / 1000).toFixed(2)} s at ${n(zones)} zones`).join(', ')}), which the first engine loads before it reads the backlog, readings that follow on at that rate`
      : 'every zone is new, so the first snapshots write every zone whole';
  const compared =
    builds.length > 1 ? ` Builds measured in turns, per zone count: ${builds.map((b) => b.label).join(', ')} (the first before, the last after).` : '';
  return `# Engine memory per zone, as a process

\`klaxon run\` (cluster.config.json: W = 500, 1 s panes, the four seed rules; ${workers} workers; Redis snapshots every 5 s to a Redis of the bench's own${Object.keys(stateOptions).length > 0 ? `; state options ${JSON.stringify(stateOptions)}` : ''}) on a backlog of ${perZone} readings per zone, 6 partitions. First start: ${filled}. "restart": the same group and prefix, so every partition's snapshot is loaded. Resident = VmRSS, median over a steady window of ${steadyMs / 1000} s with at least two snapshots in it; peak = VmHWM over the engine's life. ArrayBuffers and V8 heaps from /metrics (klaxon_worker_array_buffer_bytes, klaxon_worker_heap_bytes, klaxon_nodejs_heap_size_used_bytes).${compared}

${table(rows)}

${table(redisRows)}

Command: \`npm run bench:engine-memory -- --zones ${zoneCounts.join(',')} --readings-per-zone ${perZone} --fill ${fill}${builds.length > 1 ? ` --builds ${values.builds}` : ''}${Object.keys(stateOptions).length > 0 ? ` --state-options '${JSON.stringify(stateOptions)}'` : ''}${values.name === 'engine-memory' ? '' : ` --name ${values.name}`}\`. Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function mib(bytes: number): string {
  return `${n(Math.round(bytes / 2 ** 20))} MiB`;
}

function log(line: string): void {
  process.stderr.write(`[bench engine-memory] ${line}\n`);
}

// Last: the classes above must be initialised before main runs.
await runBench('engine memory bench', main, async () => {
  await resources.cleanup();
  redis?.stop();
});
