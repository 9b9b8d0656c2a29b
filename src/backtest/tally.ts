import type { BacktestAlert, BacktestResult } from '../protocol/messages.js';

/** The longest firing episode of a rule: from a firing to its resolution (or to the end of the run, still firing). */
export interface Episode {
  zoneId: string;
  /** Reading ts of the firing and of the resolution (or of the last reading counted, when still firing). */
  from: number;
  to: number;
  stillFiring: boolean;
}

/** One rule's alerts under one rule set. */
export interface RuleFigures {
  rule: string;
  /** Some of its alerts are a shadow rule's (they would go to the shadow output). */
  shadow: boolean;
  firing: number;
  resolved: number;
  /** Zones where it fired at least once. */
  zones: Set<string>;
  longest: Episode | undefined;
  /** Reading ts of every firing, for the chart of alerts over time. */
  firingTs: number[];
}

/** Where an alert is in the difference between the rule sets. */
export type Side = 'candidate' | 'baseline';

export interface RuleDifference {
  onlyCandidate: number;
  onlyBaseline: number;
  both: number;
}

/** Where the tally writes as it goes: the candidate's alerts, and each alert of the difference. */
export interface TallyOutputs {
  candidate(alert: BacktestAlert): void;
  difference(only: Side, alert: BacktestAlert): void;
}

const EXAMPLES_PER_RULE = 3;

/** The alerts of one rule set, by rule, with their open episodes. */
export class RuleSetTally {
  readonly rules = new Map<string, RuleFigures>();
  /** Open episodes of edge-mode rules: zone and rule → ts of the firing. */
  private readonly open = new Map<string, { zoneId: string; rule: string; from: number }>();

  add(alert: BacktestAlert): void {
    const figures = this.figuresOf(alert.rule);
    if (alert.shadow) figures.shadow = true;
    const key = `${alert.zoneId}\u0000${alert.rule}`;
    if (alert.firing) {
      figures.firing++;
      figures.zones.add(alert.zoneId);
      figures.firingTs.push(alert.ts);
      if (!alert.every && !this.open.has(key)) this.open.set(key, { zoneId: alert.zoneId, rule: alert.rule, from: alert.ts });
      return;
    }
    figures.resolved++;
    const episode = this.open.get(key);
    if (episode === undefined) return;
    this.open.delete(key);
    longer(figures, { zoneId: alert.zoneId, from: episode.from, to: alert.ts, stillFiring: false });
  }

  /** The run is over: episodes still open last until `endTs`, the last reading counted. */
  finish(endTs: number): void {
    for (const { zoneId, rule, from } of this.open.values()) longer(this.figuresOf(rule), { zoneId, from, to: Math.max(from, endTs), stillFiring: true });
    this.open.clear();
  }

  private figuresOf(rule: string): RuleFigures {
    let figures = this.rules.get(rule);
    if (figures === undefined) {
      figures = { rule, shadow: false, firing: 0, resolved: 0, zones: new Set(), longest: undefined, firingTs: [] };
      this.rules.set(rule, figures);
    }
    return figures;
  }
}

function longer(figures: RuleFigures, episode: Episode): void {
  const current = figures.longest;
  if (current === undefined || episode.to - episode.from > current.to - current.from) figures.longest = episode;
}

/**
 * Everything a backtest counts, from the workers' results as they come
 * (each worker's in order, so each zone's alerts in reading order): the
 * readings, both rule sets' alerts by rule, and the difference between the
 * two. Alerts are matched by zone, rule id, reading seq and status (the
 * alert_id and status): both rule sets evaluate a reading in the same task,
 * one after the other, so the worker matches them reading by reading (the
 * twin flags) and nothing is kept for the end.
 */
export class Tally {
  readonly candidate = new RuleSetTally();
  readonly baseline: RuleSetTally | undefined;
  readonly difference = new Map<string, RuleDifference>();
  /** The first few alerts of each rule on each side of the difference (JSON texts). */
  readonly examples = { candidate: new Map<string, string[]>(), baseline: new Map<string, string[]>() };
  records = 0;
  counted = 0;
  warmup = 0;
  skipped = 0;
  readonly rejected = new Map<string, number>();
  minTs = Number.POSITIVE_INFINITY;
  maxTs = Number.NEGATIVE_INFINITY;
  private readonly zonesByShard: number[] = [];

  constructor(
    withBaseline: boolean,
    private readonly outputs: TallyOutputs,
  ) {
    this.baseline = withBaseline ? new RuleSetTally() : undefined;
  }

  add(shard: number, records: number, result: BacktestResult): void {
    this.records += records;
    this.counted += result.counted;
    this.warmup += result.warmup;
    this.skipped += result.skipped;
    this.zonesByShard[shard] = result.zones;
    if (result.minTs < this.minTs) this.minTs = result.minTs;
    if (result.maxTs > this.maxTs) this.maxTs = result.maxTs;
    for (const { reason } of result.rejected) this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    const baseline = this.baseline;
    for (const alert of result.alerts) {
      if (alert.baseline) {
        baseline?.add(alert);
        if (!alert.twin) this.only('baseline', alert);
        continue;
      }
      this.candidate.add(alert);
      this.outputs.candidate(alert);
      if (baseline === undefined) continue;
      if (alert.twin) this.differenceOf(alert.rule).both++;
      else this.only('candidate', alert);
    }
  }

  /** Zones evaluated, over every worker. */
  get zones(): number {
    return this.zonesByShard.reduce((total, zones) => total + zones, 0);
  }

  /** Alerts only under the candidate, only under the baseline, and in both, over every rule. */
  get totals(): RuleDifference {
    const totals: RuleDifference = { onlyCandidate: 0, onlyBaseline: 0, both: 0 };
    for (const d of this.difference.values()) {
      totals.onlyCandidate += d.onlyCandidate;
      totals.onlyBaseline += d.onlyBaseline;
      totals.both += d.both;
    }
    return totals;
  }

  finish(): void {
    this.candidate.finish(this.maxTs);
    this.baseline?.finish(this.maxTs);
  }

  private only(side: Side, alert: BacktestAlert): void {
    const difference = this.differenceOf(alert.rule);
    if (side === 'candidate') difference.onlyCandidate++;
    else difference.onlyBaseline++;
    this.outputs.difference(side, alert);
    const examples = this.examples[side];
    const kept = examples.get(alert.rule) ?? [];
    if (kept.length < EXAMPLES_PER_RULE) examples.set(alert.rule, [...kept, alert.text]);
  }

  private differenceOf(rule: string): RuleDifference {
    let difference = this.difference.get(rule);
    if (difference === undefined) {
      difference = { onlyCandidate: 0, onlyBaseline: 0, both: 0 };
      this.difference.set(rule, difference);
    }
    return difference;
  }
}
