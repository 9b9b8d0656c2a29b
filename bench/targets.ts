/**
 * Issue 5's targets against the latest results in bench/results/*.json:
 * a Markdown table (met / missed) written to results/targets.md and printed.
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
  guarantee: string;
  offeredRate: number;
  checkpointIntervalMs: number | null;
  load: { achievedRate: number; keptUp: boolean };
  latencyMs: { p50: number; p99: number };
}
interface LatencyResult extends Dated {
  settings: { state: string };
  runs: LatencyRun[];
}
interface KafkaThroughputResult extends Dated {
  plainBefore: { readingsPerSecond: number };
  plainAfter: { readingsPerSecond: number };
  engineRuns: Array<{ workers: number; processes?: number; workersPerProcess?: number; readingsPerSecond: number }>;
  settings: { state?: string };
}
interface FileThroughputResult extends Dated {
  memory: { zones: number; measuredBytesPerZone: number; stateBytesPerZone: number };
}

interface MemoryResult extends Dated {
  runs: Array<{ zones: number; measuredBytesPerZone: number; residentBytesPerZone: number; stateBytesPerZone: number }>;
}

const TARGET_RATE = 50_000;
const KB = 12_000;

export function targetsTable(): string {
  const rows: Array<Record<string, string>> = [];
  const row = (target: string, measured: string, source: string, met: boolean | undefined) =>
    rows.push({ target, measured, 'from (date, commit)': source, result: met === undefined ? 'not measured' : met ? 'met' : '**missed**' });
  const since = (r: Dated, file: string) => `${file} (${r.environment.date.slice(0, 16).replace('T', ' ')}, ${r.environment.commit})`;

  const kafka = read<KafkaThroughputResult>('kafka-throughput.json');
  if (kafka === undefined) row('throughput ≥ 60% of the plain kafkajs ceiling', '', 'kafka-throughput.json', undefined);
  else {
    const ceiling = (kafka.plainBefore.readingsPerSecond + kafka.plainAfter.readingsPerSecond) / 2;
    const best = kafka.engineRuns.reduce((a, b) => (b.readingsPerSecond > a.readingsPerSecond ? b : a));
    const share = best.readingsPerSecond / ceiling;
    row(
      'throughput ≥ 60% of the plain kafkajs ceiling',
      `${n(best.readingsPerSecond)}/s (${shape(best)}${kafka.settings.state === undefined ? '' : `, ${kafka.settings.state}`}) = ${Math.round(100 * share)}% of ${n(Math.round(ceiling))}/s`,
      since(kafka, 'kafka-throughput.json'),
      share >= 0.6,
    );
  }

  for (const [file, label] of [
    ['latency.json', ''],
    ['latency-memory.json', ' (diagnostic: state in memory, no snapshots)'],
  ] as const) {
    const latency = read<LatencyResult>(file);
    if (latency === undefined) continue;
    const at = (guarantee: string) => latency.runs.find((r) => r.guarantee === guarantee && r.offeredRate === TARGET_RATE);
    const alo = at('at-least-once');
    const eo = at('exactly-once');
    const measured = (r: LatencyRun) =>
      `p99 ${ms(r.latencyMs.p99)} (p50 ${ms(r.latencyMs.p50)})${r.load.keptUp ? '' : `; the producer fell behind (${n(r.load.achievedRate)}/s)`}`;
    if (alo !== undefined) row(`at-least-once p99 < 25 ms at 50,000/s${label}`, measured(alo), since(latency, file), alo.latencyMs.p99 < 25);
    if (eo !== undefined) {
      const limit = (eo.checkpointIntervalMs ?? 0) + 25;
      row(
        `exactly-once p99 ≤ commit interval (${eo.checkpointIntervalMs} ms) + 25 ms at 50,000/s${label}`,
        measured(eo),
        since(latency, file),
        eo.latencyMs.p99 <= limit,
      );
    }
  }
  if (read('latency.json') === undefined) row('at-least-once p99 < 25 ms at 50,000/s', '', 'latency.json', undefined);

  const memory = read<MemoryResult>('memory.json');
  const file = read<FileThroughputResult>('throughput.json');
  const largest = memory?.runs.reduce((a, b) => (b.zones > a.zones ? b : a));
  if (memory !== undefined && largest !== undefined) {
    row(
      'memory < 12 KB per zone (default config)',
      `${n(Math.round(largest.measuredBytesPerZone))} B/zone heap + buffers, ${n(Math.round(largest.residentBytesPerZone))} B/zone resident, at ${n(largest.zones)} zones (${n(largest.stateBytesPerZone)} B of typed arrays)`,
      since(memory, 'memory.json'),
      largest.measuredBytesPerZone < KB,
    );
  } else if (file === undefined) row('memory < 12 KB per zone', '', 'memory.json', undefined);
  else {
    const m = file.memory;
    row(
      'memory < 12 KB per zone (default config)',
      `${n(Math.round(m.measuredBytesPerZone))} B/zone heap + buffers at ${n(m.zones)} zones (${n(m.stateBytesPerZone)} B of typed arrays)`,
      since(file, 'throughput.json'),
      m.measuredBytesPerZone < KB,
    );
  }
  return table(rows);
}

export function writeTargets(): string {
  const markdown = `# Issue 5 targets, against the latest results\n\n${targetsTable()}\n`;
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
