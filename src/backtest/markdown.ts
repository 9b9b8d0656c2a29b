import { formatDuration } from '../config/durations.js';
import type { BacktestReport, ReportRule, RuleRow } from './report.js';

const number = new Intl.NumberFormat('en-US');

/** "3 h 12 min", "45 s": an episode's length for a person. */
export function formatSpan(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  const s = Math.round(ms / 1_000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function episodeText(row: RuleRow): string {
  const episode = row.longestEpisode;
  if (episode === null) return '–';
  return `${formatSpan(episode.durationMs)} (${episode.zoneId}, from ${episode.from}${episode.stillFiring ? ', still firing at the end' : ''})`;
}

export function perDayText(row: RuleRow): string {
  return row.firingsPerZonePerDay === null ? '–' : String(row.firingsPerZonePerDay);
}

/** Table cells of one rule under one rule set. */
export function ruleCells(rule: ReportRule, set: 'candidate' | 'baseline', row: RuleRow): string[] {
  return [
    `${rule.rule}${rule.shadow ? ' (shadow)' : ''}`,
    set,
    number.format(row.firing),
    number.format(row.resolved),
    number.format(row.zonesAffected),
    perDayText(row),
    episodeText(row),
  ];
}

export const RULE_HEADINGS = ['rule', 'rule set', 'firing', 'resolved', 'zones affected', 'firings/zone/day', 'longest firing episode'];
export const DIFFERENCE_HEADINGS = ['rule', 'only under the candidate', 'only under the baseline', 'in both'];

/** Per rule: alerts only under the candidate, only under the baseline, in both (the cells of DIFFERENCE_HEADINGS). */
export function differenceRows(report: BacktestReport): string[][] {
  return report.rules.map((r) => [
    r.rule,
    number.format(r.difference?.onlyCandidate ?? 0),
    number.format(r.difference?.onlyBaseline ?? 0),
    number.format(r.difference?.both ?? 0),
  ]);
}

/** An example alert in one line: its id, status, value and time. */
export function exampleText(alert: unknown): string {
  const a = alert as { alert_id: string; status: string; value: number; ts: number; severity?: string };
  return `${a.alert_id} ${a.status}, value ${a.value} at ${new Date(a.ts).toISOString()}${a.severity === undefined ? '' : `, ${a.severity}`}`;
}

function table(headings: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(headings), line(headings.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The readings line: read, counted, warm-up, left out, invalid. */
export function readingsText(report: BacktestReport): string {
  const r = report.readings;
  const parts = [`${number.format(r.read)} records read`, `${number.format(r.counted)} readings counted over ${number.format(report.zones)} zones`];
  if (r.warmup > 0) parts.push(`${number.format(r.warmup)} warm-up readings`);
  if (r.skipped > 0) parts.push(`${number.format(r.skipped)} left out (outside the range or zones)`);
  parts.push(`${number.format(r.invalid)} not valid readings`);
  return parts.join(', ');
}

export function periodText(report: BacktestReport): string {
  const period = report.period;
  if (period === null) return 'no reading counted';
  return `${period.from} to ${period.to} (${formatSpan(Math.round(period.days * 86_400_000))}, by reading ts)`;
}

/** The Markdown report: what was read, per rule under each rule set, the difference with examples, and what to keep in mind. */
export function markdownReport(report: BacktestReport, chartFile: string | undefined): string {
  const { candidate, baseline } = report.ruleSets;
  const out: string[] = [
    `# Backtest: ${candidate.label}${baseline === null ? '' : ` against ${baseline.label}`}`,
    '',
    `- Input: ${report.input}`,
    `- Asked for: from ${report.requested.from} to ${report.requested.to}${report.requested.warmup === null ? '' : `, warm-up ${report.requested.warmup}`}${report.requested.zones === null ? '' : `, zones ${report.requested.zones.join(', ')}`}`,
    `- Period counted: ${periodText(report)}`,
    `- Readings: ${readingsText(report)}`,
    `- Window: ${report.window.size} readings, ${formatDuration(report.window.paneMs)} panes, ${report.window.retain} panes retained`,
    `- Candidate: ${describeSet(candidate)}`,
  ];
  if (baseline !== null) out.push(`- Baseline: ${describeSet(baseline)}${report.ruleSets.identical ? ' (the same rules as the candidate)' : ''}`);
  out.push(`- Run: ${report.run.workers} workers, ${report.run.seconds} s, ${number.format(report.run.readingsPerSecond)} records/s`, '', '## Per rule', '');
  const rows: string[][] = [];
  for (const rule of report.rules) {
    if (rule.baseline !== null) rows.push(ruleCells(rule, 'baseline', rule.baseline));
    rows.push(ruleCells(rule, 'candidate', rule.candidate));
  }
  out.push(table(RULE_HEADINGS, rows), '', '"firings/zone/day" is per zone where the rule fired, over the period counted.', '');
  if (report.difference !== null) {
    const d = report.difference;
    out.push('## The difference', '');
    out.push(
      `${number.format(d.onlyCandidate)} alerts only under the candidate, ${number.format(d.onlyBaseline)} only under the baseline, ${number.format(d.both)} in both.`,
      '',
    );
    const changed = report.rules.filter((r) => r.difference !== null && r.difference.onlyCandidate + r.difference.onlyBaseline > 0);
    out.push(table(DIFFERENCE_HEADINGS, differenceRows(report)), '');
    for (const rule of changed) {
      out.push(`### ${rule.rule}`, '');
      for (const [side, words] of [
        ['candidate', 'only under the candidate'],
        ['baseline', 'only under the baseline'],
      ] as const) {
        const examples = report.examples[side][rule.rule] ?? [];
        if (examples.length > 0) out.push(`${words}, for example:`, '', ...examples.map((alert) => `- ${exampleText(alert)}`), '');
      }
    }
    out.push('Every alert of the difference is in difference.ndjson.', '');
  }
  out.push('## Alerts over time', '');
  if (chartFile !== undefined) out.push(`![firing alerts over time, per rule: baseline and candidate](${chartFile})`, '');
  else out.push('No reading was counted.', '');
  out.push('## Keep in mind', '', ...report.notes.map((note) => `- ${note}`), '');
  return out.join('\n');
}

/** A rule set in one line: where it came from and its rules, by version when it has several. */
export function describeSet(set: BacktestReport['ruleSets']['candidate']): string {
  const versions = set.versions.map((v) => `${set.versions.length > 1 ? `version ${v.version} from ${v.effectiveFrom}: ` : ''}${v.rules.join(', ')}`);
  return `${set.label} (${versions.join('; ')})`;
}
