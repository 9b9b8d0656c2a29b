/**
 * `klaxon backtest` against the file job on the same stream, in turns: the
 * throughput bench's generated file (default 2,000,000 readings over 10,000
 * zones), the seed rules. Three runs a turn, in an order that rotates:
 *
 *   file job     file → workers → file with the seed rules (what `klaxon run` does)
 *   backtest     the seed rules as the baseline and a candidate (too-hot above 85, outlier k 2.5), one pass, both rule sets
 *   backtest, candidate only   the candidate alone (what the second rule set costs)
 *
 * Each is timed from the call to its end (threads started, files opened and
 * written, reports included), the same workers for all. Compare rows of one
 * run with each other: the machine is shared.
 *
 *   npm run bench:backtest -- [--readings N] [--zones N] [--workers 2] [--turns 3]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backtest } from '../src/backtest/backtest.js';
import { parseConfig } from '../src/config/load.js';
import { runEngine } from '../src/coordinator/engine.js';
import { environment, OUT_DIR, table, writeResult } from './environment.js';
import { ensureStream } from './make-stream.js';
import { DEFAULT_RULES } from './rules.js';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '2000000' },
    zones: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    turns: { type: 'string', default: '3' },
  },
});
const readings = Number(values.readings);
const zones = Number(values.zones);
const workers = Number(values.workers);
const turns = Number(values.turns);

const input = await ensureStream(join(OUT_DIR, `stream-${readings}-${zones}.ndjson`), { readings, zones, seed: 7 });
const dir = join(OUT_DIR, 'backtest');
const baselineFile = join(OUT_DIR, 'backtest-seed-rules.json');
const candidateFile = join(OUT_DIR, 'backtest-candidate-rules.json');
writeFileSync(baselineFile, JSON.stringify(DEFAULT_RULES));
const candidate = structuredClone(DEFAULT_RULES) as { rules: Array<Record<string, unknown>> };
Object.assign(candidate.rules[0] as object, { above: 85 });
Object.assign(candidate.rules[1] as object, { k: 2.5 });
writeFileSync(candidateFile, JSON.stringify({ window: DEFAULT_RULES.window, rules: candidate.rules }));

interface Run {
  what: string;
  turn: number;
  seconds: number;
  readingsPerSecond: number;
  /** CPU time of the whole process (every thread) per reading: steadier than wall time on a shared machine. */
  cpuMicrosPerReading: number;
  alerts: number;
}

/** Wall and CPU time (all threads of this process) of `work`. */
async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const used = process.cpuUsage(cpu);
  return { result, seconds: (performance.now() - started) / 1000, cpuMs: (used.user + used.system) / 1000 };
}

async function fileJob(turn: number): Promise<Run> {
  const config = parseConfig(
    {
      engine: { workers },
      source: { type: 'file', path: input },
      sink: { type: 'file', path: join(dir, 'job-alerts.ndjson') },
      deadLetter: { type: 'file', path: join(dir, 'job-dead.ndjson') },
      ...DEFAULT_RULES,
    },
    { baseDir: dir },
  );
  const { result: summary, seconds, cpuMs } = await timed(() => runEngine(config));
  return {
    what: 'file job (seed rules)',
    turn,
    seconds,
    readingsPerSecond: Math.round(summary.records / seconds),
    cpuMicrosPerReading: (cpuMs * 1000) / summary.records,
    alerts: summary.alerts,
  };
}

async function backtestRun(turn: number, withBaseline: boolean): Promise<Run> {
  const {
    result: { report },
    seconds,
    cpuMs,
  } = await timed(() =>
    backtest({
      rules: candidateFile,
      ...(withBaseline ? { baseline: baselineFile } : {}),
      input,
      workers,
      out: join(dir, withBaseline ? 'both' : 'candidate'),
    }),
  );
  const alerts = report.rules.reduce(
    (sum, r) => sum + r.candidate.firing + r.candidate.resolved + (r.baseline === null ? 0 : r.baseline.firing + r.baseline.resolved),
    0,
  );
  return {
    what: withBaseline ? 'backtest, seed rules and candidate' : 'backtest, candidate only',
    turn,
    seconds,
    readingsPerSecond: Math.round(report.readings.read / seconds),
    cpuMicrosPerReading: (cpuMs * 1000) / report.readings.read,
    alerts,
  };
}

const kinds = [(turn: number) => fileJob(turn), (turn: number) => backtestRun(turn, true), (turn: number) => backtestRun(turn, false)];
const runs: Run[] = [];
for (let turn = 1; turn <= turns; turn++) {
  // Rotate the order, so that no kind always runs first (or right after another heavy one).
  for (let k = 0; k < kinds.length; k++) {
    const run = await (kinds[(k + turn - 1) % kinds.length] as (turn: number) => Promise<Run>)(turn);
    process.stderr.write(
      `turn ${turn}: ${run.what}: ${run.readingsPerSecond.toLocaleString('en-US')} readings/s, ${run.cpuMicrosPerReading.toFixed(2)} µs CPU a reading\n`,
    );
    runs.push(run);
  }
}

const kindsSeen = [...new Set(runs.map((r) => r.what))];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fileMedian = median(runs.filter((r) => r.what === kindsSeen.find((k) => k.startsWith('file'))).map((r) => r.readingsPerSecond));
const rows = kindsSeen.map((what) => {
  const mine = runs.filter((r) => r.what === what);
  const rates = mine.map((r) => r.readingsPerSecond);
  return {
    run: what,
    'readings/s by turn': rates.map((x) => x.toLocaleString('en-US')).join(' · '),
    'median readings/s': median(rates).toLocaleString('en-US'),
    'vs file job': `${Math.round((median(rates) / fileMedian) * 100)}%`,
    'CPU µs/reading by turn': mine.map((r) => r.cpuMicrosPerReading.toFixed(2)).join(' · '),
    alerts: (mine[0] as Run).alerts.toLocaleString('en-US'),
  };
});

const markdown = `# Backtest throughput against the file job

${readings.toLocaleString('en-US')} readings over ${zones.toLocaleString('en-US')} zones (the throughput bench's stream), ${workers} workers, ${turns} turns, the order rotating each turn. Each run is timed from its call to its end: threads started, the file read, every output written (the backtest's reports included). CPU µs/reading is the process's CPU time (every thread) over the run, per reading: steadier than wall time when other work shares the cores.

- file job: \`klaxon run\`, file → workers → file, the seed rules.
- backtest, seed rules and candidate: \`klaxon backtest --rules candidate --baseline seed\` (candidate: too-hot above 85, outlier k 2.5): both rule sets over one set of zone statistics, one pass; alerts counted under both.
- backtest, candidate only: the same without a baseline (what the second rule set costs).

${table(rows)}

Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}. \`npm run bench:backtest\`.
`;
writeResult('backtest', { environment: environment(), readings, zones, workers, turns, runs }, markdown);
process.stdout.write(`${markdown}\n`);
process.exit(0);
