/**
 * Rules as the workers run them: parameters turned into pane counts and
 * numbers once, so the per-reading path only does arithmetic. `kind` and
 * `direction` are small integers (a switch on them is cheaper than on
 * strings); the names below are the only way to write them.
 */
export const RuleKind = { threshold: 0, zscore: 1, windowAvg: 2, rateOfChange: 3 } as const;
export type RuleKindCode = (typeof RuleKind)[keyof typeof RuleKind];
/** The contract's type names, by kind. */
export const RULE_TYPES = ['threshold', 'zscore', 'window_avg', 'rate_of_change'] as const;
export const Direction = { up: 0, down: 1, both: 2 } as const;
export type DirectionCode = (typeof Direction)[keyof typeof Direction];
/** Severities by code (contract §7.4), lowest first. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type SeverityName = (typeof SEVERITIES)[number];

/** What every zone keeps, fixed for the state's life (contract §7.1): the window. */
export interface WindowPlan {
  /** W: values kept in each zone's history. */
  historySize: number;
  /** g: pane width in ms. */
  paneMs: number;
  /** R: panes each zone keeps (window.retain); 0: none. */
  ringPanes: number;
}

/** What an alert says about the rule that raised it. */
export interface AlertRule {
  id: string;
  type: (typeof RULE_TYPES)[number];
  severity: SeverityName;
  shadow: boolean;
  /** The version the reading was evaluated under. */
  version: number;
}

interface PlannedBase extends AlertRule {
  /** The rule id's slot in this worker's per-zone rule states (engine/rule-book.ts). */
  slot: number;
  /** Mode `every`: each firing emits; otherwise edge (firing once, then resolved). */
  every: boolean;
  /** `for` in ms: an OK rule fires once its condition has held this long (0: at once). */
  forMs: number;
  /** A FIRING rule resolves only when clearBelow ≤ x ≤ clearAbove (±Infinity: no hysteresis on that side). */
  clearAbove: number;
  clearBelow: number;
  /** kind, shadow and severity as a rule state stores them (engine/rule-state.ts). */
  stateBits: number;
}

export interface PlannedThreshold extends PlannedBase {
  kind: typeof RuleKind.threshold;
  /** +Infinity / -Infinity when the side is not set. */
  above: number;
  below: number;
}

export interface PlannedZscore extends PlannedBase {
  kind: typeof RuleKind.zscore;
  k: number;
  minSamples: number;
}

export interface PlannedWindowAvg extends PlannedBase {
  kind: typeof RuleKind.windowAvg;
  /** P: the span in panes. */
  panes: number;
  abovePct: number;
  minSamples: number;
}

export interface PlannedRateOfChange extends PlannedBase {
  kind: typeof RuleKind.rateOfChange;
  /** L: the lag in panes. */
  lagPanes: number;
  pct: number;
  direction: DirectionCode;
}

/** One rule as it applies to one zone under one version: scope decided, override merged. */
export type PlannedRule = PlannedThreshold | PlannedZscore | PlannedWindowAvg | PlannedRateOfChange;

/** A version's place in event time: readings with from ≤ ts < until are evaluated under it. */
export interface VersionSpan {
  readonly version: number;
  readonly from: number;
  /** The next version's effectiveFrom (Infinity for the latest); lowered when a newer version arrives. */
  until: number;
}

/**
 * The rules one zone runs under one version, in the version's rule order,
 * only those that apply to it (contract §7.3). Zones that resolve alike share
 * one plan.
 */
export interface ZonePlan {
  readonly span: VersionSpan;
  readonly rules: readonly PlannedRule[];
  /** Rule slot → index in `rules`; -1 (or past the end): the rule does not apply here. */
  readonly indexOfSlot: Int32Array;
  /** Slots known when the plan was made: every rule of the plan has a slot below this. */
  readonly slots: number;
  /** The distinct spans (P, in panes) of the plan's window_avg rules: each zone keeps a running total of each. */
  readonly spans: readonly number[];
}

/** Rule ids and the slots their per-zone states live in; a slot, once given, is the id's for the worker's life. */
export interface RuleIds {
  readonly size: number;
  slotOf(id: string): number;
  idOf(slot: number): string;
}
