/**
 * Where an engine's CPU goes, per reading and per part: a backlog in a
 * fresh topic, then `klaxon run` (state in memory, so only the engine
 * works) under `node --cpu-prof` until its group has committed the whole
 * backlog, then a graceful stop. CPU time per thread comes from
 * /proc/PID/task (user + system, from the engine's start to the commit of
 * the whole backlog): the coordinator (the main thread: Kafka fetch and
 * decoding, routing, the hand-off, sinks, commits), each worker, and the
 * rest (V8's GC and compiler helpers, libuv). Each thread's profile says
 * where its time went: a sampling profile counts wall time, so waiting
 * (idle, and piscina's Atomics.wait between tasks) is left out and the
 * shares are of the time the thread ran.
 *
 * `--builds` profiles several builds (checkouts of other commits, built) in
 * turns on the same backlog, so a before/after compares like with like; a
 * build may carry Node flags or engine settings after a `+`
 * (`.+--max-semi-space-size=64`, `.+engine.batchSize=4000`):
 *
 *   node dist/bench/profile-engine.js [--readings 1000000] [--zones 10000] [--workers 2] [--builds /path/to/base,.] [--top 12]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafka, ensureTopic } from '../src/io/kafka/client.js';
import { type BuildSpec, parseBuilds } from './builds.js';
import { startEngine, writeEngineConfig } from './engine-process.js';
import { environment, OUT_DIR, runBench, startServices, table, writeResult } from './environment.js';
import { committed, produceBacklog, settle, watchCount } from './kafka-backlog.js';
import { benchPlant, readingTs } from './make-stream.js';
import { BenchResources } from './resources.js';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '1000000' },
    zones: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    builds: { type: 'string', default: '.' },
    top: { type: 'string', default: '12' },
    partitions: { type: 'string', default: '6' },
  },
});
const readings = Number(values.readings);
const zones = Number(values.zones);
const workers = Number(values.workers);
const builds = parseBuilds(values.builds);
const LOG_DIR = join(OUT_DIR, 'profile');
/** Waiting, not running: the profiler samples wall time, and a worker blocked in Atomics.wait is sampled in piscina's loop. */
const WAITING = new Set(['(idle)', 'atomicsWaitLoop']);

const { brokers, redisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const resources = new BenchResources(kafka, redisUrl, log);

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadProfile {
  thread: string;
  /** CPU time (user + system) from the engine's start to the whole backlog committed, ms. */
  cpuMs: number;
  nsPerReading: number;
  /** Share of the thread's running time by where the code lives (%), from its profile. */
  parts: Record<string, number>;
  /** Self time of the busiest functions while running (ms of samples). */
  top: Array<{ fn: string; ms: number }>;
  /** Threads summed in one row (the helpers): each one's CPU time, ms, largest first. */
  each?: number[];
}

export interface BuildProfile {
  build: string;
  commit: string;
  threads: ThreadProfile[];
  /** All threads together, per reading (the profiler's own threads left out). */
  nsPerReading: number;
  /** V8's profiler threads, per reading: the measurement's cost, in no thread above. */
  profilerNsPerReading?: number;
}

/** The thread V8's profiler samples from (its name in /proc): the measurement's cost, not the engine's. */
const PROFILER_THREAD = 'v8:ProfEvntProc';

await runBench('profile bench', main, () => resources.cleanup());

async function main(): Promise<void> {
  const topic = resources.topic('readings');
  const plant = benchPlant({ zones, seed: 7 });
  const partitions = Number(values.partitions);
  const produce = await produceBacklog(brokers, topic, partitions, readings, (i) => plant.next(readingTs(i, zones)).line);
  log(`produced ${readings.toLocaleString('en-US')} readings at ${produce.readingsPerSecond.toLocaleString('en-US')}/s`);
  const profiles: BuildProfile[] = [];
  for (const [i, build] of builds.entries()) {
    await settle();
    profiles.push(await profileBuild(build, topic, partitions, i));
  }
  const settings = { readings, zones, workers, partitions, state: 'memory', guarantee: 'at-least-once' };
  const markdown = report(profiles);
  writeResult('profile', { environment: environment(), settings, profiles }, markdown);
  process.stdout.write(`${markdown}\n`);
}

async function profileBuild(
  { root: build, nodeFlags, engineOptions, sinkOptions, label }: BuildSpec,
  topic: string,
  partitions: number,
  index: number,
): Promise<BuildProfile> {
  const name = `${resources.tag}-p${index}`;
  const dir = join(LOG_DIR, `cpu-${index}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [alerts, dead] = [resources.topic(`p${index}-alerts`), resources.topic(`p${index}-dead`)];
  await ensureTopic(kafka, alerts, partitions);
  await ensureTopic(kafka, dead, 1);
  const config = writeEngineConfig({
    name,
    dir: LOG_DIR,
    brokers,
    topics: { readings: topic, alerts, dead },
    partitions,
    groupId: name,
    instanceId: name,
    workers,
    state: { type: 'memory' },
    engineOptions,
    sinkOptions,
  });
  const engine = startEngine(config, resources.children, { root: build, nodeArgs: [...nodeFlags, '--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const admin = kafka.admin();
  let cpu = new Map<number, number>();
  let profilerMs = 0;
  try {
    await engine.started;
    await admin.connect();
    await watchCount({
      label: `${basename(build)}: engine`,
      total: readings,
      pollMs: 100,
      log,
      count: async () => (await committed(admin, name, topic)).committed,
      failed: () => (engine.exited ? new Error(`the engine exited; see ${engine.logPath}`) : undefined),
    });
    ({ engine: cpu, profilerMs } = threadCpuMs(engine.pid));
    log(await engine.stop());
  } finally {
    engine.kill();
    await admin.disconnect().catch(() => {});
    await resources.deleteTopics([alerts, dead]);
  }
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => threadOf(a) - threadOf(b));
  // The main thread's id is the pid; the workers are the busiest of the others (V8's and libuv's helpers use far less).
  const mainMs = cpu.get(engine.pid) ?? 0;
  const others = [...cpu].filter(([tid]) => tid !== engine.pid).sort((a, b) => b[1] - a[1]);
  const workerMs = others.slice(0, workers).map(([, ms]) => ms);
  const restMs = others.slice(workers).reduce((sum, [, ms]) => sum + ms, 0);
  const threads = files.map((file, i) =>
    summarise(
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile,
      i === 0 ? 'coordinator' : `worker ${i}`,
      i === 0 ? mainMs : (workerMs[i - 1] ?? 0),
    ),
  );
  // Each of them by CPU, largest first: which helpers work (V8 names none of its GC or compiler threads).
  const restEach = others
    .slice(workers)
    .map(([, ms]) => ms)
    .filter((ms) => ms > 0);
  threads.push({
    thread: 'other threads (GC, compiler, libuv)',
    cpuMs: restMs,
    nsPerReading: Math.round((restMs * 1e6) / readings),
    parts: {},
    top: [],
    each: restEach,
  });
  const nsPerReading = threads.reduce((sum, t) => sum + t.nsPerReading, 0);
  return { build, commit: label, threads, nsPerReading, profilerNsPerReading: Math.round((profilerMs * 1e6) / readings) };
}

/** CPU time (user + system) of each live thread of a process, ms, from /proc; the profiler's threads apart. */
function threadCpuMs(pid: number): { engine: Map<number, number>; profilerMs: number } {
  const ticksPerMs = 100 / 1000;
  const engine = new Map<number, number>();
  let profilerMs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // Fields after the command's closing parenthesis: state is 3rd, utime the 14th, stime the 15th.
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      const ms = (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === PROFILER_THREAD) profilerMs += ms;
      else engine.set(Number(tid), ms);
    } catch {}
  }
  return { engine, profilerMs };
}

function threadOf(file: string): number {
  return Number(file.split('.')[4]);
}

/** Self time by part and by function while the thread ran; its CPU time measured apart. */
function summarise(profile: CpuProfile, thread: string, cpuMs: number): ThreadProfile {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parts = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const us = profile.timeDeltas[i] ?? 0;
    if (frame === undefined || WAITING.has(frame.functionName)) return;
    total += us;
    const part = partOf(frame.url, frame.functionName);
    parts.set(part, (parts.get(part) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|dist)\//, '')}:${frame.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  });
  const top = [...fns]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top))
    .map(([fn, us]) => ({ fn, ms: Math.round(us / 1000) }));
  const share = Object.fromEntries([...parts].sort((a, b) => b[1] - a[1]).map(([part, us]) => [part, Math.round((1000 * us) / total) / 10]));
  return { thread, cpuMs: Math.round(cpuMs), nsPerReading: Math.round((cpuMs * 1e6) / readings), parts: share, top };
}

function partOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(root)') return 'V8/native';
  const dep = /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (dep !== undefined) return dep;
  const own = /dist\/src\/([^/]+)\//.exec(url)?.[1];
  if (own !== undefined) return `klaxon ${own}`;
  if (url.startsWith('node:') || url === '') return 'node built-ins';
  return 'other';
}

function report(profiles: BuildProfile[]): string {
  const rows = profiles.flatMap((p) =>
    p.threads.map((t) => ({
      build: p.commit,
      thread: t.thread,
      'CPU ms': t.cpuMs.toLocaleString('en-US'),
      'µs/reading': (t.nsPerReading / 1000).toFixed(2),
      'where (share of the thread)':
        t.each === undefined
          ? Object.entries(t.parts)
              .filter(([, pct]) => pct >= 2)
              .map(([part, pct]) => `${part} ${pct}%`)
              .join(', ')
          : `${t.each.length} threads with CPU time: ${t.each.map((ms) => ms.toLocaleString('en-US')).join(', ')} ms`,
    })),
  );
  const totals = profiles
    .map(
      (p) =>
        `${p.commit}: ${(p.nsPerReading / 1000).toFixed(2)} µs per reading in all threads` +
        (p.profilerNsPerReading === undefined ? '' : ` (and ${(p.profilerNsPerReading / 1000).toFixed(2)} µs in the profiler's own threads, left out)`),
    )
    .join('; ');
  const tops = profiles
    .map((p) => `### ${p.commit}\n\n${p.threads.map((t) => `${t.thread}: ${t.top.map((f) => `\`${f.fn}\` ${f.ms} ms`).join(', ')}`).join('\n\n')}`)
    .join('\n\n');
  return `# Engine CPU per reading, by thread and part

${readings.toLocaleString('en-US')} readings over ${zones.toLocaleString('en-US')} zones (a backlog, ${values.partitions} partitions), \`klaxon run\` with ${workers} workers, at-least-once, state in memory, under \`node --cpu-prof\`, builds in turns on the same backlog, on ${cpus().length} shared cores. CPU per thread from /proc (user + system, from the engine's start to the whole backlog committed; start-up included, ~0.3 s; V8's profiler threads, named ${PROFILER_THREAD}, left out, though its sampling still interrupts the threads it samples); where it went from each thread's profile (shares of the samples while it ran: waiting left out). Totals: ${totals}.

${table(rows)}

Functions with the most self time:

${tops}

Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function log(line: string): void {
  process.stderr.write(`[bench profile] ${line}\n`);
}
