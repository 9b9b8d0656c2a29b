/**
 * Rules as the workers run them: parameters turned into pane counts and
 * numbers once, so the per-reading path only does arithmetic. `kind` and
 * `direction` are small integers (a switch on them is cheaper than on
 * strings); the names below are the only way to write them.
 */
export const RuleKind = { threshold: 0, zscore: 1, windowAvg: 2, rateOfChange: 3 } as const;
export const Direction = { up: 0, down: 1, both: 2 } as const;
export type DirectionCode = (typeof Direction)[keyof typeof Direction];

interface PlannedBase {
  id: string;
  /** Mode `every`: each firing emits; otherwise edge (firing once, then resolved). */
  every: boolean;
}

export interface PlannedThreshold extends PlannedBase {
  kind: typeof RuleKind.threshold;
  type: 'threshold';
  /** +Infinity / -Infinity when the side is not set. */
  above: number;
  below: number;
}

export interface PlannedZscore extends PlannedBase {
  kind: typeof RuleKind.zscore;
  type: 'zscore';
  k: number;
  minSamples: number;
}

export interface PlannedWindowAvg extends PlannedBase {
  kind: typeof RuleKind.windowAvg;
  type: 'window_avg';
  /** P: the span in panes. */
  panes: number;
  abovePct: number;
  minSamples: number;
}

export interface PlannedRateOfChange extends PlannedBase {
  kind: typeof RuleKind.rateOfChange;
  type: 'rate_of_change';
  /** L: the lag in panes. */
  lagPanes: number;
  pct: number;
  direction: DirectionCode;
}

export type PlannedRule = PlannedThreshold | PlannedZscore | PlannedWindowAvg | PlannedRateOfChange;

export interface Plan {
  /** W: values kept in each zone's history. */
  historySize: number;
  /** g: pane width in ms. */
  paneMs: number;
  /** R = max(P, L + 1) over all time rules; 0 when there are none. */
  ringPanes: number;
  rules: PlannedRule[];
}
