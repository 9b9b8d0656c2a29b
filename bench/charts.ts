/**
 * The bench charts, from the JSON results (whichever exist):
 *   results/latency.svg     latency percentiles against offered rate, per guarantee (log y)
 *   results/throughput.svg  readings/s against workers: engine Kafka → Kafka, the plain kafkajs ceiling, file → file
 *   results/kafka-throughput.svg  Kafka → Kafka readings/s against workers, one process and several, against the ceiling
 *
 *   npm run bench:report     (npm run bench and bench:latency also write them)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lineChart, type Series } from '../src/report/svg-chart.js';
import { RESULTS_DIR } from './environment.js';
import { latestBuild } from './targets.js';

interface LatencyResult {
  runs: Array<{
    build?: string;
    guarantee: string;
    offeredRate: number;
    checkpointIntervalMs: number | null;
    latencyMs: { p50: number; p99: number; p999: number };
  }>;
}
interface KafkaThroughputResult {
  plainBefore: { readingsPerSecond: number };
  plainAfter: { readingsPerSecond: number };
  ceiling?: number;
  engineRuns: Array<{ build?: string; workers: number; processes?: number; workersPerProcess?: number; readingsPerSecond: number }>;
}
interface FileThroughputResult {
  runs: Array<{ workers: number; readingsPerSecond: number }>;
}

const COLORS: Record<string, string> = { 'at-least-once': '#1f77b4', 'exactly-once': '#d62728' };
const PERCENTILES = [
  { key: 'p50', dash: '2 3' },
  { key: 'p99', dash: undefined },
  { key: 'p999', name: 'p99.9', dash: '8 4' },
] as const;

export function writeCharts(): string[] {
  const written: string[] = [];
  const latency = read<LatencyResult>('latency.json');
  // A before/after result (--builds): the charts show this build.
  if (latency !== undefined) latency.runs = latestBuild(latency.runs);
  if (latency !== undefined) {
    const rates = [...new Set(latency.runs.map((r) => r.offeredRate))].sort((a, b) => a - b);
    const series: Series[] = [];
    for (const guarantee of [...new Set(latency.runs.map((r) => r.guarantee))]) {
      const runs = latency.runs.filter((r) => r.guarantee === guarantee);
      for (const p of PERCENTILES) {
        series.push({
          name: `${guarantee} ${'name' in p ? p.name : p.key}`,
          points: runs.map((r) => [r.offeredRate, r.latencyMs[p.key]]),
          color: COLORS[guarantee] ?? '#555',
          ...(p.dash === undefined ? {} : { dash: p.dash }),
        });
      }
    }
    // The targets, as flat lines over the measured rates.
    const span = (y: number): Array<[number, number]> => [
      [rates[0] as number, y],
      [rates[rates.length - 1] as number, y],
    ];
    series.push({ name: 'target: ALO p99 < 25 ms', points: span(25), color: '#999', dash: '1 4', markers: false });
    const eoInterval = latency.runs.find((r) => r.guarantee === 'exactly-once')?.checkpointIntervalMs;
    if (eoInterval != null)
      series.push({ name: `target: EO p99 ≤ ${eoInterval + 25} ms`, points: span(eoInterval + 25), color: '#e8a0a0', dash: '1 4', markers: false });
    written.push(
      write(
        'latency.svg',
        lineChart({
          title: 'End-to-end latency (produce → alert visible)',
          xLabel: 'offered readings/s',
          yLabel: 'latency, ms (log scale)',
          series,
          logY: true,
          xTicks: [0, ...rates],
        }),
      ),
    );
  }
  const kafka = read<KafkaThroughputResult>('kafka-throughput.json');
  if (kafka !== undefined) kafka.engineRuns = latestBuild(kafka.engineRuns);
  const file = read<FileThroughputResult>('throughput.json');
  const single = kafka?.engineRuns.filter((r) => (r.processes ?? 1) === 1) ?? [];
  const ceilingSeries = (workers: number[]): Series[] => {
    if (kafka === undefined) return [];
    const ceiling = kafka.ceiling ?? (kafka.plainBefore.readingsPerSecond + kafka.plainAfter.readingsPerSecond) / 2;
    const flat = (y: number): Array<[number, number]> => workers.map((w) => [w, y]);
    return [
      { name: 'plain kafkajs consumer (ceiling)', points: flat(ceiling), color: '#555', dash: '6 4', markers: false },
      { name: 'target: 60% of the ceiling', points: flat(0.6 * ceiling), color: '#999', dash: '1 4', markers: false },
    ];
  };
  if (kafka !== undefined) {
    const workers = [...new Set(kafka.engineRuns.map((r) => r.workers))].sort((a, b) => a - b);
    const series = [
      ...ceilingSeries(workers),
      { name: 'engine, 1 process', points: single.map((r): [number, number] => [r.workers, r.readingsPerSecond]), color: '#1f77b4' },
    ];
    const perProcess = [...new Set(kafka.engineRuns.filter((r) => (r.processes ?? 1) > 1).map((r) => r.workersPerProcess ?? 1))];
    for (const [i, w] of perProcess.entries()) {
      const runs = kafka.engineRuns.filter((r) => ((r.processes ?? 1) > 1 || r.workers === w) && (r.workersPerProcess ?? r.workers) === w);
      series.push({
        name: `engine, processes × ${w} worker${w === 1 ? '' : 's'}`,
        points: runs.map((r) => [r.workers, r.readingsPerSecond]),
        color: ['#d62728', '#9467bd'][i % 2] as string,
      });
    }
    written.push(
      write(
        'kafka-throughput.svg',
        lineChart({
          title: 'Kafka → Kafka throughput against workers (all processes)',
          xLabel: 'workers in all',
          yLabel: 'readings/s',
          series,
          xTicks: workers,
        }),
      ),
    );
  }
  if (kafka !== undefined || file !== undefined) {
    const workers = [...new Set([...single, ...(file?.runs ?? [])].map((r) => r.workers))].sort((a, b) => a - b);
    const series = ceilingSeries(workers);
    if (kafka !== undefined) series.push({ name: 'engine, Kafka → Kafka', points: single.map((r) => [r.workers, r.readingsPerSecond]), color: '#1f77b4' });
    if (file !== undefined) series.push({ name: 'engine, file → file', points: file.runs.map((r) => [r.workers, r.readingsPerSecond]), color: '#2ca02c' });
    written.push(
      write(
        'throughput.svg',
        lineChart({ title: 'Throughput against workers (2-core machine)', xLabel: 'workers', yLabel: 'readings/s', series, xTicks: workers }),
      ),
    );
  }
  return written;
}

function read<T>(name: string): T | undefined {
  const path = join(RESULTS_DIR, name);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

function write(name: string, svg: string): string {
  const path = join(RESULTS_DIR, name);
  writeFileSync(path, svg);
  return path;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const path of writeCharts()) process.stdout.write(`wrote ${path}\n`);
}
