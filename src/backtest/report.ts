import { formatDuration } from '../config/durations.js';
import type { RuleVersion, WindowConfig } from '../config/types.js';
import type { RuleDifference, RuleFigures, Tally } from './tally.js';
import { bucketsFor, countPerBucket } from './timeline.js';
import { isoOrOpen } from './times.js';

const DAY_MS = 86_400_000;
/** Below this, firings per zone per day would be an extrapolation of almost nothing. */
const SHORTEST_PERIOD_MS = 60_000;

/** A rule set as the report names it. */
export interface NamedRuleSet {
  /** Where it came from: a file, "version 3 of the rules topic readings.rules", "the deployment's rule set (…)". */
  label: string;
  versions: readonly RuleVersion[];
}

/** What the report says about the run besides what it counted. */
export interface ReportContext {
  input: string;
  /** Reading a topic by offsets (alert ids then number readings from the first offset read). */
  fromTopic: boolean;
  candidate: NamedRuleSet;
  baseline: NamedRuleSet | undefined;
  window: WindowConfig;
  /** The range asked for (±Infinity: open), and the warm-up before it (0: none). */
  from: number;
  to: number;
  warmupMs: number;
  zones: readonly string[] | undefined;
  workers: number;
  elapsedMs: number;
}

export interface RuleRow {
  firing: number;
  resolved: number;
  zonesAffected: number;
  /** Firings per affected zone per day of the period; null when nothing fired or the period is too short to say. */
  firingsPerZonePerDay: number | null;
  longestEpisode: { zoneId: string; from: string; to: string; durationMs: number; stillFiring: boolean } | null;
}

export interface ReportRule {
  rule: string;
  shadow: boolean;
  candidate: RuleRow;
  baseline: RuleRow | null;
  difference: RuleDifference | null;
}

/** Everything the Markdown and HTML reports show, also written as summary.json. */
export interface BacktestReport {
  generatedAt: string;
  input: string;
  requested: { from: string; to: string; warmup: string | null; zones: readonly string[] | null };
  /** The reading ts of the first and last reading counted (null: none). */
  period: { from: string; to: string; days: number } | null;
  readings: { read: number; counted: number; warmup: number; skipped: number; invalid: number; invalidByReason: Record<string, number> };
  zones: number;
  window: WindowConfig;
  ruleSets: { candidate: RuleSetSummary; baseline: RuleSetSummary | null; identical: boolean };
  rules: ReportRule[];
  difference: RuleDifference | null;
  examples: { candidate: Record<string, unknown[]>; baseline: Record<string, unknown[]> };
  /** Firings per bucket: bucket starts, and per rule the counts under each rule set. */
  timeline: { start: number; widthMs: number; buckets: number; rules: Array<{ rule: string; candidate: number[]; baseline: number[] | null }> } | null;
  notes: string[];
  run: { workers: number; seconds: number; readingsPerSecond: number };
}

export interface RuleSetSummary {
  label: string;
  versions: Array<{ version: number; effectiveFrom: string; rules: string[] }>;
}

function summaryOf(set: NamedRuleSet): RuleSetSummary {
  return {
    label: set.label,
    versions: set.versions.map((v) => ({
      version: v.version,
      effectiveFrom: v.effectiveFrom === 0 ? '0' : new Date(v.effectiveFrom).toISOString(),
      rules: v.rules.map((rule) => `${rule.id}${rule.shadow ? ' (shadow)' : ''}`),
    })),
  };
}

/** Rule ids in the order a person wrote them: the candidate's versions first, then the baseline's, then any other that alerted. */
function ruleOrder(context: ReportContext, tally: Tally): string[] {
  const ids = new Set<string>();
  for (const set of [context.candidate, context.baseline]) for (const version of set?.versions ?? []) for (const rule of version.rules) ids.add(rule.id);
  for (const id of [...tally.candidate.rules.keys(), ...(tally.baseline?.rules.keys() ?? [])]) ids.add(id);
  return [...ids];
}

function rowOf(figures: RuleFigures | undefined, days: number | null): RuleRow {
  if (figures === undefined) return { firing: 0, resolved: 0, zonesAffected: 0, firingsPerZonePerDay: null, longestEpisode: null };
  const zones = figures.zones.size;
  const longest = figures.longest;
  return {
    firing: figures.firing,
    resolved: figures.resolved,
    zonesAffected: zones,
    firingsPerZonePerDay: zones === 0 || days === null ? null : Math.round((figures.firing / zones / days) * 100) / 100,
    longestEpisode:
      longest === undefined
        ? null
        : {
            zoneId: longest.zoneId,
            from: new Date(longest.from).toISOString(),
            to: new Date(longest.to).toISOString(),
            durationMs: longest.to - longest.from,
            stillFiring: longest.stillFiring,
          },
  };
}

function shadowIn(set: NamedRuleSet | undefined, rule: string): boolean {
  return set?.versions.some((v) => v.rules.some((r) => r.id === rule && r.shadow)) ?? false;
}

/** The report of a finished backtest. */
export function buildReport(tally: Tally, context: ReportContext, identical: boolean): BacktestReport {
  const counted = tally.counted > 0;
  const periodMs = counted ? tally.maxTs - tally.minTs : 0;
  const days = counted && periodMs >= SHORTEST_PERIOD_MS ? periodMs / DAY_MS : null;
  const baseline = tally.baseline;
  const rules = ruleOrder(context, tally).map((rule) => ({
    rule,
    shadow: shadowIn(context.candidate, rule) || shadowIn(context.baseline, rule),
    candidate: rowOf(tally.candidate.rules.get(rule), days),
    baseline: baseline === undefined ? null : rowOf(baseline.rules.get(rule), days),
    difference: baseline === undefined ? null : (tally.difference.get(rule) ?? { onlyCandidate: 0, onlyBaseline: 0, both: 0 }),
  }));
  const invalid = [...tally.rejected.values()].reduce((a, b) => a + b, 0);
  const examples = (side: 'candidate' | 'baseline') =>
    Object.fromEntries([...tally.examples[side]].map(([rule, texts]) => [rule, texts.map((text) => JSON.parse(text) as unknown)]));
  const seconds = context.elapsedMs / 1000;
  return {
    generatedAt: new Date().toISOString(),
    input: context.input,
    requested: {
      from: isoOrOpen(context.from),
      to: isoOrOpen(context.to),
      warmup: context.warmupMs > 0 ? formatDuration(context.warmupMs) : null,
      zones: context.zones ?? null,
    },
    period: counted ? { from: new Date(tally.minTs).toISOString(), to: new Date(tally.maxTs).toISOString(), days: periodMs / DAY_MS } : null,
    readings: {
      read: tally.records,
      counted: tally.counted,
      warmup: tally.warmup,
      skipped: tally.skipped,
      invalid,
      invalidByReason: Object.fromEntries(tally.rejected),
    },
    zones: tally.zones,
    window: context.window,
    ruleSets: { candidate: summaryOf(context.candidate), baseline: context.baseline === undefined ? null : summaryOf(context.baseline), identical },
    rules,
    difference: baseline === undefined ? null : tally.totals,
    examples: { candidate: examples('candidate'), baseline: examples('baseline') },
    timeline: counted ? timelineOf(tally, rules) : null,
    notes: notesOf(context, tally),
    run: { workers: context.workers, seconds: Math.round(seconds * 10) / 10, readingsPerSecond: seconds > 0 ? Math.round(tally.records / seconds) : 0 },
  };
}

function timelineOf(tally: Tally, rules: readonly ReportRule[]): BacktestReport['timeline'] {
  const buckets = bucketsFor(tally.minTs, tally.maxTs);
  const counts = (figures: RuleFigures | undefined) => countPerBucket(figures?.firingTs ?? [], buckets).map(([, count]) => count);
  return {
    start: buckets.start,
    widthMs: buckets.width,
    buckets: buckets.count,
    rules: rules.map(({ rule }) => ({
      rule,
      candidate: counts(tally.candidate.rules.get(rule)),
      baseline: tally.baseline === undefined ? null : counts(tally.baseline.rules.get(rule)),
    })),
  };
}

/** What a reader must know to read the figures right: where statistics start, what seq means, what was left out. */
function notesOf(context: ReportContext, tally: Tally): string[] {
  const notes: string[] = [];
  const { window } = context;
  const warmedFrom = context.from === Number.NEGATIVE_INFINITY ? undefined : context.from - context.warmupMs;
  if (warmedFrom === undefined) {
    notes.push(
      `Zone statistics are built from the first reading read on: each zone's first ${window.size} readings (zscore) and first spans and lags (window_avg, rate_of_change) see less history than a deployment that ran before them.`,
    );
  } else if (context.warmupMs === 0) {
    notes.push(
      `Zone statistics are built from the readings from ${isoOrOpen(context.from)} on, not before: each zone's first ${window.size} readings and first spans and lags see less history than the deployment had. --warmup DURATION reads earlier readings to build statistics without counting their alerts.`,
    );
  } else {
    notes.push(
      `Zone statistics were warmed up with the readings from ${isoOrOpen(warmedFrom)} (--warmup ${formatDuration(context.warmupMs)}); their alerts are not counted (${tally.warmup.toLocaleString('en-US')} readings).`,
    );
  }
  notes.push(
    context.fromTopic
      ? "Records were chosen by their Kafka record time: offsets for times on every partition of the topic. Alert ids number each zone's readings (seq) from the first record read, so they are the deployment's own only when the backtest reads the topic from its beginning."
      : "Readings were chosen by their own ts. Alert ids number each zone's readings (seq) from the first reading read, so they are a deployment's own only when it read the same file from its start.",
  );
  if (tally.skipped > 0)
    notes.push(
      `${tally.skipped.toLocaleString('en-US')} valid readings were left out: their ts is outside the range asked for, or their zone is not one of --zones.`,
    );
  notes.push(
    'Alerts are matched between the rule sets by zone, rule id, reading seq and status (their alert_id and status). Shadow rules are counted like the others and marked.',
  );
  return notes;
}
