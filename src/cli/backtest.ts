import { backtest } from '../backtest/backtest.js';
import { formatSpan } from '../backtest/markdown.js';
import { parseSpan, parseTime } from '../backtest/times.js';
import { UsageError } from '../errors.js';
import { terminal } from '../terminal.js';
import { counted, formatCount } from './wording.js';

export interface BacktestCommandOptions {
  rules: string;
  baseline?: string;
  baselineVersion?: number;
  input?: string;
  config?: string;
  topic?: string;
  from?: string;
  to?: string;
  warmup?: string;
  zones?: string[];
  out: string;
  workers?: number;
  connectTimeout?: number;
}

/**
 * `klaxon backtest`: what a candidate rule set would have raised over past
 * readings, beside a baseline, without touching any deployment. Prints the
 * figures per rule and the difference, and where the reports are.
 */
export async function backtestCommand(options: BacktestCommandOptions, now = Date.now()): Promise<void> {
  let warmupMs: number | undefined;
  if (options.warmup !== undefined) {
    warmupMs = parseSpan(options.warmup);
    if (warmupMs === undefined) throw new UsageError(`--warmup ${options.warmup}: expected a duration such as 30m, 6h or 2d`);
  }
  const showProgress = process.stderr.isTTY === true;
  const { report, files } = await backtest({
    rules: options.rules,
    out: options.out,
    ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
    ...(options.baselineVersion === undefined ? {} : { baselineVersion: options.baselineVersion }),
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.config === undefined ? {} : { config: options.config }),
    ...(options.topic === undefined ? {} : { topic: options.topic }),
    ...(options.from === undefined ? {} : { from: parseTime(options.from, '--from', now) }),
    ...(options.to === undefined ? {} : { to: parseTime(options.to, '--to', now) }),
    ...(warmupMs === undefined ? {} : { warmupMs }),
    ...(options.zones === undefined ? {} : { zones: options.zones }),
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.connectTimeout === undefined ? {} : { connectTimeoutMs: options.connectTimeout }),
    ...(showProgress ? { onProgress: (tally) => terminal.set([`backtest: ${counted(tally.records, 'record')} read, ${counted(tally.zones, 'zone')}`]) } : {}),
  }).finally(() => terminal.clear());
  const out: string[] = [];
  const { readings, run } = report;
  out.push(
    `backtest of ${report.ruleSets.candidate.label}${report.ruleSets.baseline === null ? '' : ` against ${report.ruleSets.baseline.label}`}`,
    `  ${counted(readings.read, 'record')} in ${run.seconds} s (${formatCount(run.readingsPerSecond)}/s): ${counted(readings.counted, 'reading')} counted` +
      `${readings.warmup > 0 ? `, ${formatCount(readings.warmup)} warm-up` : ''}${readings.skipped > 0 ? `, ${formatCount(readings.skipped)} left out` : ''}, ${counted(readings.invalid, 'invalid record')}, ${counted(report.zones, 'zone')}` +
      (report.period === null ? '' : `, ${formatSpan(Math.round(report.period.days * 86_400_000))} of readings`),
  );
  for (const rule of report.rules) {
    const firing = (n: number) => `${formatCount(n)} firing`;
    const difference = rule.difference;
    let change = firing(rule.candidate.firing);
    if (difference !== null && rule.baseline !== null) {
      change =
        difference.onlyCandidate + difference.onlyBaseline === 0
          ? `${change}, the same alerts under both`
          : `${firing(rule.baseline.firing)} → ${change} (${formatCount(difference.onlyCandidate)} alerts only under the candidate, ${formatCount(difference.onlyBaseline)} only under the baseline)`;
    }
    out.push(`  ${rule.rule}${rule.shadow ? ' (shadow)' : ''}: ${change}, ${counted(rule.candidate.zonesAffected, 'zone')}`);
  }
  if (report.difference !== null) {
    const d = report.difference;
    out.push(
      `difference: ${formatCount(d.onlyCandidate)} alerts only under the candidate, ${formatCount(d.onlyBaseline)} only under the baseline, ${formatCount(d.both)} in both`,
    );
  }
  out.push(
    `reports: ${files.markdown}, ${files.html}; the candidate's alerts: ${files.candidateAlerts}${files.difference === undefined ? '' : `; the difference: ${files.difference}`}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}
