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
 * shares are of the time the thread ran. CPU is counted from "engine
 * started", so the ~0.3 s of loading and joining, the same for any backlog,
 * is reported apart. `--sampling off` runs without the profiler (its
 * interruptions and code logging cost the threads it samples) and writes
 * profile-cpu.json: CPU per thread only. `--warmup N` also counts CPU
 * between two commits mid-backlog, the first once N readings are committed
 * and the last at 90% of them: a steady engine's cost, without the
 * compiling its first readings pay for.
 *
 * `--builds` profiles several builds (checkouts of other commits, built) in
 * turns on the same backlog, so a before/after compares like with like; a
 * build may carry Node flags or engine settings after a `+`
 * (`.+--max-semi-space-size=64`, `.+engine.batchSize=4000`):
 *
 *   node dist/bench/profile-engine.js [--readings 1000000] [--zones 10000] [--workers 2] [--builds /path/to/base,.] [--top 12] [--sampling on|off] [--warmup 0]
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
    sampling: { type: 'string', default: 'on' },
    warmup: { type: 'string', default: '0' },
  },
});
const readings = Number(values.readings);
const zones = Number(values.zones);
const workers = Number(values.workers);
const builds = parseBuilds(values.builds);
if (values.sampling !== 'on' && values.sampling !== 'off') throw new Error(`--sampling: expected on or off, got "${values.sampling}"`);
/** Off: CPU per thread from /proc alone, without the sampling profiler's interruptions and code logging (no "where"). */
const sampling = values.sampling === 'on';
/**
 * Readings after which CPU is counted again, apart: a run's first readings also pay for compiling the hot code
 * (V8's compiler threads, ~0.5 s of CPU per start; perf on the helpers of a 1M run put 65% of their samples in
 * TurboFan), which a long-running engine pays once.
 */
const warmup = Number(values.warmup);
/**
 * With a warm-up, commits this often (ms): each is one small request. The committed count trails processing (by the
 * interval, the poll and the batches fetched and queued), which is why the steady window is taken between two commit
 * marks in mid-backlog, each trailing by about as much, not from one mark to the end (that counted the readings in
 * flight at the first mark as after it, and understated the cost).
 */
const WARMUP_COMMIT_INTERVAL_MS = 100;
/** The steady window's last mark: this many readings committed. */
const lateMark = Math.floor(readings * 0.9);
if (!Number.isInteger(warmup) || warmup < 0 || (warmup > 0 && warmup >= lateMark))
  throw new Error(`--warmup: expected a whole number of readings below 90% of --readings (${lateMark}), got "${values.warmup}"`);
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
  /** CPU per reading after the warm-up (the readings past `--warmup`), ns: what a long-running engine spends. */
  steadyNsPerReading?: number;
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
  /** Readings committed when the warm-up ended (the steady figures count the readings after them). */
  warmupReadings?: number;
  /** Readings in the steady window (committed between its two marks). */
  steadyReadings?: number;
  /** All threads together, per reading after the warm-up. */
  steadyNsPerReading?: number;
  /** CPU of all threads before the engine started (loading, compiling, joining the group), ms: in no figure above. */
  startupMs: number;
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
  const settings = {
    readings,
    zones,
    workers,
    partitions,
    state: 'memory',
    guarantee: 'at-least-once',
    sampling,
    warmup,
    ...(warmup > 0 ? { commitIntervalMs: WARMUP_COMMIT_INTERVAL_MS } : {}),
  };
  const markdown = report(profiles);
  writeResult(sampling ? 'profile' : 'profile-cpu', { environment: environment(), settings, profiles }, markdown);
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
    // Commits trail processing by up to an interval: short ones keep the warm-up's end (a committed count) close to what was processed.
    ...(warmup > 0 ? { commitIntervalMs: WARMUP_COMMIT_INTERVAL_MS } : {}),
  });
  const nodeArgs = sampling ? [...nodeFlags, '--cpu-prof', `--cpu-prof-dir=${dir}`] : nodeFlags;
  const engine = startEngine(config, resources.children, { root: build, nodeArgs });
  const admin = kafka.admin();
  let atStart = new Map<number, number>();
  let atEnd = new Map<number, number>();
  let warm: { cpu: Map<number, number>; committed: number } | undefined;
  let late: { cpu: Map<number, number>; committed: number } | undefined;
  let profilerMs = 0;
  try {
    await engine.started;
    // Loading, compiling the modules and joining the group cost ~0.3 s whatever the backlog: counted apart.
    atStart = threadCpuMs(engine.pid).engine;
    await admin.connect();
    await watchCount({
      label: `${basename(build)}: engine`,
      total: readings,
      pollMs: 100,
      log,
      count: async () => {
        const seen = (await committed(admin, name, topic)).committed;
        if (warm === undefined && warmup > 0 && seen >= warmup) warm = { cpu: threadCpuMs(engine.pid).engine, committed: seen };
        else if (warm !== undefined && late === undefined && seen >= lateMark && seen < readings)
          late = { cpu: threadCpuMs(engine.pid).engine, committed: seen };
        return seen;
      },
      failed: () => (engine.exited ? new Error(`the engine exited; see ${engine.logPath}`) : undefined),
    });
    ({ engine: atEnd, profilerMs } = threadCpuMs(engine.pid));
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
  const cpu = since(atStart, atEnd);
  // The main thread's id is the pid; the workers are the busiest of the others (V8's and libuv's helpers use far less).
  const others = [...cpu].filter(([tid]) => tid !== engine.pid).sort((a, b) => b[1] - a[1]);
  const roles = [engine.pid, ...others.slice(0, workers).map(([tid]) => tid)];
  const helpers = others.slice(workers).map(([tid]) => tid);
  // No window when both marks fell on one poll, or the last poll saw the whole backlog: no steady figure then, rather than a wrong one.
  const steady =
    warm === undefined || late === undefined ? undefined : { cpu: since(warm.cpu, late.cpu), readings: late.committed - warm.committed, from: warm.committed };
  if (warmup > 0 && steady === undefined) log(`${label}: no steady window (the commits passed ${warmup} and ${lateMark} within one poll); run more readings`);
  const steadyNs = (tids: readonly number[]) => (steady === undefined ? undefined : Math.round((sumOf(steady.cpu, tids) * 1e6) / steady.readings));
  const threads: ThreadProfile[] = roles.map((tid, i) => {
    const thread = i === 0 ? 'coordinator' : `worker ${i}`;
    const cpuMs = cpu.get(tid) ?? 0;
    const file = files[i];
    const profile = file === undefined ? undefined : (JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
    return withSteady(summarise(profile, thread, cpuMs), steadyNs([tid]));
  });
  const restMs = sumOf(cpu, helpers);
  threads.push(
    withSteady(
      {
        thread: 'other threads (GC, compiler, libuv)',
        cpuMs: Math.round(restMs),
        nsPerReading: Math.round((restMs * 1e6) / readings),
        parts: {},
        top: [],
        // Each of them by CPU, largest first: which helpers work (V8 names none of its GC or compiler threads).
        each: helpers.map((tid) => Math.round(cpu.get(tid) ?? 0)).filter((ms) => ms > 0),
      },
      steadyNs(helpers),
    ),
  );
  const nsPerReading = threads.reduce((sum, t) => sum + t.nsPerReading, 0);
  const startupMs = Math.round([...atStart.values()].reduce((sum, ms) => sum + ms, 0));
  const profiled: BuildProfile = { build, commit: label, threads, nsPerReading, startupMs };
  if (steady !== undefined) {
    profiled.warmupReadings = steady.from;
    profiled.steadyReadings = steady.readings;
    profiled.steadyNsPerReading = threads.reduce((sum, t) => sum + (t.steadyNsPerReading ?? 0), 0);
  }
  if (sampling) profiled.profilerNsPerReading = Math.round((profilerMs * 1e6) / readings);
  return profiled;
}

/** Each thread's CPU from `before` to `after` (a thread born since counts from 0). */
function since(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): Map<number, number> {
  return new Map([...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)]));
}

function sumOf(cpu: ReadonlyMap<number, number>, tids: readonly number[]): number {
  return tids.reduce((sum, tid) => sum + (cpu.get(tid) ?? 0), 0);
}

function withSteady(thread: ThreadProfile, steadyNsPerReading: number | undefined): ThreadProfile {
  return steadyNsPerReading === undefined ? thread : { ...thread, steadyNsPerReading };
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
function summarise(profile: CpuProfile | undefined, thread: string, cpuMs: number): ThreadProfile {
  const nsPerReading = Math.round((cpuMs * 1e6) / readings);
  if (profile === undefined) return { thread, cpuMs: Math.round(cpuMs), nsPerReading, parts: {}, top: [] };
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
  return { thread, cpuMs: Math.round(cpuMs), nsPerReading, parts: share, top };
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
      ...(warmup > 0 ? { 'µs/reading after warm-up': t.steadyNsPerReading === undefined ? '' : (t.steadyNsPerReading / 1000).toFixed(2) } : {}),
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
        (p.steadyNsPerReading === undefined
          ? ''
          : `, ${(p.steadyNsPerReading / 1000).toFixed(2)} µs over the ${(p.steadyReadings ?? 0).toLocaleString('en-US')} after the first ${(p.warmupReadings ?? 0).toLocaleString('en-US')}`) +
        `, ${p.startupMs.toLocaleString('en-US')} ms before it started` +
        (p.profilerNsPerReading === undefined ? '' : ` (and ${(p.profilerNsPerReading / 1000).toFixed(2)} µs in the profiler's own threads, left out)`),
    )
    .join('; ');
  const tops = profiles
    .map((p) => `### ${p.commit}\n\n${p.threads.map((t) => `${t.thread}: ${t.top.map((f) => `\`${f.fn}\` ${f.ms} ms`).join(', ')}`).join('\n\n')}`)
    .join('\n\n');
  return `# Engine CPU per reading, by thread and part

${readings.toLocaleString('en-US')} readings over ${zones.toLocaleString('en-US')} zones (a backlog, ${values.partitions} partitions), \`klaxon run\` with ${workers} workers, at-least-once, state in memory, ${sampling ? 'under `node --cpu-prof`' : 'without a profiler'}, builds in turns on the same backlog, on ${cpus().length} shared cores. CPU per thread from /proc (user + system, from "engine started" (group joined, pipeline up) to the whole backlog committed; what it spent before it started is counted apart${warmup > 0 ? `; "after warm-up": between two polls of the committed count (every 100 ms), the first once ${warmup.toLocaleString('en-US')} readings were committed, the last once ${lateMark.toLocaleString('en-US')} were, over the readings committed between them: compiling the hot code is left out, and as both marks trail processing by about as much, the readings in flight cancel out; commits every ${WARMUP_COMMIT_INTERVAL_MS} ms in these runs` : ''}${sampling ? `; V8's profiler threads, named ${PROFILER_THREAD}, left out, though its sampling still interrupts the threads it samples); where it went from each thread's profile (shares of the samples while it ran: waiting left out)` : '; with sampling off no thread says where its time went)'}. Totals: ${totals}.

${table(rows)}

Functions with the most self time:

${tops}

Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
}

function log(line: string): void {
  process.stderr.write(`[bench profile] ${line}\n`);
}
