/**
 * Issue 16's targets against the latest results in bench/results/*.json: a
 * Markdown table written to results/targets.md and printed. Where a result
 * holds several builds (--builds: before and after in one run), both are
 * shown and the last build (this one) is judged.
 *
 *   npm run bench:report     (npm run bench and bench:latency also write it)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULTS_DIR, table } from './environment.js';

interface Dated {
  environment: { date: string; commit: string };
}
interface LatencyRun {
  build?: string;
  guarantee: string;
  offeredRate: number;
  checkpointIntervalMs: number | null;
  load: { achievedRate: number; keptUp: boolean };
  latencyMs: { p50: number; p99: number };
  engineLatencyMs?: { p50: number; p99: number } | null;
}
interface LatencyResult extends Dated {
  settings: { state: string };
  runs: LatencyRun[];
}
interface EngineRun {
  build?: string;
  workers: number;
  processes?: number;
  workersPerProcess?: number;
  readingsPerSecond: number;
}
interface KafkaThroughputResult extends Dated {
  plainBefore: { readingsPerSecond: number };
  plainAfter: { readingsPerSecond: number };
  ceiling?: number;
  engineRuns: EngineRun[];
  settings: { state?: string };
}
interface ProfileResult extends Dated {
  settings: { readings: number; warmup?: number };
  profiles: Array<{
    commit: string;
    nsPerReading: number;
    steadyNsPerReading?: number | null;
    threads: Array<{ thread: string; nsPerReading: number; steadyNsPerReading?: number | null }>;
  }>;
}
interface FileThroughputResult extends Dated {
  memory: { zones: number; measuredBytesPerZone: number; stateBytesPerZone: number };
}
interface MemoryResult extends Dated {
  runs: Array<{ zones: number; measuredBytesPerZone: number; residentBytesPerZone: number; stateBytesPerZone: number }>;
}

const TARGET_RATE = 50_000;
const KB = 12_000;

/** Runs grouped by build, in the order the builds ran (the first is "before", the last "after"). */
export function byBuild<T extends { build?: string }>(runs: readonly T[]): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const run of runs) {
    const key = run.build ?? '';
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups];
}

/** The runs of the last build (this one, when a result holds a before and an after). */
export function latestBuild<T extends { build?: string }>(runs: readonly T[]): T[] {
  return byBuild(runs).at(-1)?.[1] ?? [];
}

export function targetsTable(): string {
  const rows: Array<Record<string, string>> = [];
  const row = (target: string, before: string, after: string, source: string, met: boolean | undefined) =>
    rows.push({ target, before, 'after (judged)': after, from: source, result: met === undefined ? 'not measured' : met ? 'met' : '**missed**' });
  const since = (r: Dated, file: string) => `${file} (${r.environment.date.slice(0, 16).replace('T', ' ')}, ${r.environment.commit})`;
  const label = (build: string) => (build === '' ? '' : `${build}: `);

  const kafka = read<KafkaThroughputResult>('kafka-throughput.json');
  if (kafka === undefined) row('throughput ≥ 60% of the plain kafkajs consumer', '', '', 'kafka-throughput.json', undefined);
  else {
    const ceiling = kafka.ceiling ?? (kafka.plainBefore.readingsPerSecond + kafka.plainAfter.readingsPerSecond) / 2;
    const best = (runs: EngineRun[]) => runs.reduce((a, b) => (b.readingsPerSecond > a.readingsPerSecond ? b : a));
    const say = ([build, runs]: [string, EngineRun[]]) => {
      const top = best(runs);
      return `${label(build)}${n(top.readingsPerSecond)}/s (${shape(top)}) = ${Math.round((100 * top.readingsPerSecond) / ceiling)}%`;
    };
    const builds = byBuild(kafka.engineRuns);
    const after = builds.at(-1) as [string, EngineRun[]];
    row(
      `throughput ≥ 60% of the plain kafkajs consumer (${n(Math.round(ceiling))}/s in the same run${kafka.settings.state === undefined ? '' : `; engine with ${kafka.settings.state}`})`,
      builds.length > 1 ? say(builds[0] as [string, EngineRun[]]) : '',
      say(after),
      since(kafka, 'kafka-throughput.json'),
      best(after[1]).readingsPerSecond >= 0.6 * ceiling,
    );
  }

  const profile = read<ProfileResult>('profile.json');
  if (profile === undefined) row('engine CPU ≤ 3 µs per reading (coordinator + workers)', '', '', 'profile.json', undefined);
  else {
    const say = (p: ProfileResult['profiles'][number]) =>
      `${p.commit}: ${(p.nsPerReading / 1000).toFixed(2)} µs (${p.threads.map((t) => `${t.thread} ${(t.nsPerReading / 1000).toFixed(2)}`).join(', ')})`;
    const after = profile.profiles.at(-1) as ProfileResult['profiles'][number];
    row(
      'engine CPU ≤ 3 µs per reading (coordinator + workers, all threads; under the sampling profiler, from the start, so compiling included)',
      profile.profiles.length > 1 ? say(profile.profiles[0] as ProfileResult['profiles'][number]) : '',
      say(after),
      since(profile, 'profile.json'),
      after.nsPerReading <= 3_000,
    );
  }

  const cpu = read<ProfileResult>('profile-cpu.json');
  if (cpu !== undefined && cpu.profiles.length > 0) {
    type Profile = ProfileResult['profiles'][number];
    const builds = byBuild(cpu.profiles.map((p) => ({ ...p, build: p.commit })));
    const [first, last] = [builds[0], builds.at(-1)] as [[string, Profile[]], [string, Profile[]]];
    const µs = (ns: number | null | undefined) => (ns === undefined || ns === null ? '—' : (ns / 1000).toFixed(2));
    const part = (p: Profile, steady: boolean) => p.threads.map((t) => `${t.thread} ${µs(steady ? t.steadyNsPerReading : t.nsPerReading)}`).join(', ');
    const say = ([build, runs]: [string, Profile[]], steady: boolean) =>
      `${build}: ${runs.map((p) => `${µs(steady ? p.steadyNsPerReading : p.nsPerReading)} µs (${part(p, steady)})`).join('; ')}`;
    // A run without a steady window (or a measure missing) cannot be judged met.
    const worst = (runs: Profile[], steady: boolean) =>
      Math.max(...runs.map((p) => (steady ? p.steadyNsPerReading : p.nsPerReading) ?? Number.POSITIVE_INFINITY));
    const over = `${n(cpu.settings.readings)} readings, no profiler`;
    const warmup = cpu.settings.warmup ?? 0;
    for (const steady of warmup > 0 ? [true, false] : [false]) {
      row(
        steady
          ? `engine CPU ≤ 3 µs per reading, all threads, running (${over}; counted between the first ${n(warmup)} committed and 90% of them, so compiling the hot code is left out; the worst run is judged)`
          : `engine CPU ≤ 3 µs per reading, all threads, from the engine's start (${over}, compiling included; the worst run is judged)`,
        builds.length > 1 ? say(first, steady) : '',
        say(last, steady),
        since(cpu, 'profile-cpu.json'),
        worst(last[1], steady) <= 3_000,
      );
    }
  }

  for (const [file, note] of [
    ['latency.json', ''],
    ['latency-memory.json', ' (diagnostic: state in memory, no snapshots)'],
    ['latency-floor.json', ' (the floor: "before" is a kafkajs relay that only forwards hot readings, bench/kafka-relay.ts, same load and cores)'],
  ] as const) {
    const latency = read<LatencyResult>(file);
    if (latency === undefined) continue;
    const builds = byBuild(latency.runs);
    const at = (runs: LatencyRun[], guarantee: string) => runs.find((r) => r.guarantee === guarantee && r.offeredRate === TARGET_RATE);
    const measured = (build: string, r: LatencyRun | undefined) =>
      r === undefined
        ? ''
        : `${label(build)}p99 ${ms(r.latencyMs.p99)} (p50 ${ms(r.latencyMs.p50)})` +
          (r.engineLatencyMs === undefined || r.engineLatencyMs === null ? '' : `; engine's share p99 ${ms(r.engineLatencyMs.p99)}`) +
          (r.load.keptUp ? '' : `; the producer fell behind (${n(r.load.achievedRate)}/s)`);
    for (const guarantee of ['at-least-once', 'exactly-once']) {
      const after = builds.at(-1) as [string, LatencyRun[]];
      const run = at(after[1], guarantee);
      if (run === undefined) continue;
      const limit = guarantee === 'exactly-once' ? (run.checkpointIntervalMs ?? 0) + 10 : 10;
      const first = builds[0] as [string, LatencyRun[]];
      row(
        guarantee === 'exactly-once'
          ? `exactly-once p99 ≤ commit interval (${run.checkpointIntervalMs} ms) + 10 ms at 50,000/s${note}`
          : `at-least-once p99 ≤ 10 ms at 50,000/s${note}`,
        builds.length > 1 ? measured(first[0], at(first[1], guarantee)) : '',
        measured(after[0], run),
        since(latency, file),
        run.latencyMs.p99 <= limit,
      );
    }
  }
  if (read('latency.json') === undefined) row('at-least-once p99 ≤ 10 ms at 50,000/s', '', '', 'latency.json', undefined);

  const memory = read<MemoryResult>('memory.json');
  const file = read<FileThroughputResult>('throughput.json');
  const largest = memory?.runs.reduce((a, b) => (b.zones > a.zones ? b : a));
  if (memory !== undefined && largest !== undefined) {
    row(
      'memory < 12 KB per zone (default config)',
      '',
      `${n(Math.round(largest.measuredBytesPerZone))} B/zone heap + buffers, ${n(Math.round(largest.residentBytesPerZone))} B/zone resident, at ${n(largest.zones)} zones (${n(largest.stateBytesPerZone)} B of typed arrays)`,
      since(memory, 'memory.json'),
      largest.measuredBytesPerZone < KB,
    );
  } else if (file === undefined) row('memory < 12 KB per zone', '', '', 'memory.json', undefined);
  else {
    const m = file.memory;
    row(
      'memory < 12 KB per zone (default config)',
      '',
      `${n(Math.round(m.measuredBytesPerZone))} B/zone heap + buffers at ${n(m.zones)} zones (${n(m.stateBytesPerZone)} B of typed arrays)`,
      since(file, 'throughput.json'),
      m.measuredBytesPerZone < KB,
    );
  }
  engineMemoryRows(row, since, label);
  return table(rows);
}

interface EngineMemoryResult extends Dated {
  settings: { stateOptions: Record<string, unknown> };
  runs: Array<{ zones: number; build?: string; first: { steadyRss: number; peakRss: number }; restart: { steadyRss: number; peakRss: number } }>;
}

/** Issue 16's memory targets: ≤ 8 KB per zone resident, and memory bounded by state.maxZonesInMemory whatever the zones. */
function engineMemoryRows(
  row: (target: string, before: string, after: string, source: string, met: boolean | undefined) => void,
  since: (r: Dated, file: string) => string,
  label: (build: string) => string,
): void {
  const perZone = (rss: number, zones: number) => `${n(Math.round(rss / zones))} B`;
  const figures = (runs: EngineMemoryResult['runs']) =>
    runs.map((r) => `${n(r.zones)} zones: ${perZone(r.first.steadyRss, r.zones)}/zone (restart ${perZone(r.restart.steadyRss, r.zones)})`).join('; ');
  // A million zones is a run of its own (this build only: the dense state's engine and Redis together do not fit the machine).
  for (const [file, millionFile, zones] of [
    ['engine-memory.json', 'engine-memory-1m-new.json', '3 readings a zone'],
    ['engine-memory-full.json', 'engine-memory-1m-full.json', 'long-running zones: full history, panes as occupied as 150,000 readings/s make them'],
  ] as const) {
    const result = read<EngineMemoryResult>(file);
    const million = read<EngineMemoryResult>(millionFile);
    const target = `memory ≤ 8 KB per zone resident (engine as a process, every zone in memory, ${zones}${million === undefined ? '; 1M zones not measured' : ''})`;
    if (result === undefined) {
      row(target, '', '', file, undefined);
      continue;
    }
    const builds = byBuild(result.runs);
    const after = [...(builds.at(-1)?.[1] ?? []), ...(million?.runs ?? [])];
    const before = builds.length > 1 ? builds[0] : undefined;
    row(
      target,
      before === undefined ? '' : `${label(before[0])}${figures(before[1])}`,
      `${label(builds.at(-1)?.[0] ?? '')}${figures(after)}`,
      `${since(result, file)}${million === undefined ? '' : `, ${since(million, millionFile)}`}`,
      after.every((r) => Math.max(r.first.steadyRss, r.restart.steadyRss) / r.zones <= 8 * 1024),
    );
  }
  const tiered = read<EngineMemoryResult>('engine-memory-tiered.json');
  const limit = tiered?.settings.stateOptions.maxZonesInMemory;
  if (tiered === undefined || typeof limit !== 'number') row('memory bounded by state.maxZonesInMemory', '', '', 'engine-memory-tiered.json', undefined);
  else {
    const peak = (r: EngineMemoryResult['runs'][number]) => Math.max(r.first.peakRss, r.restart.peakRss);
    const [fewest, most] = [tiered.runs[0], tiered.runs.at(-1)];
    // What each zone beyond the fewest adds to the peak: a zone in memory costs ~12 KB, one kept in the store should cost little.
    const perAddedZone =
      fewest === undefined || most === undefined || most.zones === fewest.zones ? undefined : (peak(most) - peak(fewest)) / (most.zones - fewest.zones);
    row(
      `memory bounded by state.maxZonesInMemory (${n(limit)}): each zone beyond the limit adds ≤ 1 KB to the peak (a zone in memory: ~12 KB)`,
      '',
      `${tiered.runs
        .map((r) => `${n(r.zones)} zones: peak ${(peak(r) / 2 ** 30).toFixed(2)} GiB, ${perZone(r.restart.steadyRss, r.zones)}/zone after a restart`)
        .join('; ')}${perAddedZone === undefined ? '' : `; ${n(Math.round(perAddedZone))} B of peak per added zone`}`,
      since(tiered, 'engine-memory-tiered.json'),
      perAddedZone === undefined ? undefined : perAddedZone <= 1024,
    );
  }
}

export function writeTargets(): string {
  const markdown = `# Issue 16 targets, against the latest results\n\nEach row's figures come from one run; where that run measured two builds in turns ("--builds"), the first is before and the last (this one) after, and the last is judged. Conditions and where the time goes: [README](../README.md#issue-16-where-the-time-goes).\n\n${targetsTable()}\n`;
  writeFileSync(join(RESULTS_DIR, 'targets.md'), markdown);
  return markdown;
}

function read<T>(name: string): T | undefined {
  const path = join(RESULTS_DIR, name);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

function shape(r: { workers: number; processes?: number; workersPerProcess?: number }): string {
  const processes = r.processes ?? 1;
  return processes === 1 ? `${r.workers} workers` : `${processes} processes × ${r.workersPerProcess} workers`;
}

function ms(x: number): string {
  return `${x < 100 ? x.toFixed(1) : n(Math.round(x))} ms`;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(writeTargets());
}
