import type { Rule, RuleOverride, WindowConfig } from '../config/types.js';
import { Direction, type PlannedRule, RuleKind, SEVERITIES, type WindowPlan } from '../model/plan.js';
import { stateBitsOf } from './rule-state.js';

/** The window every zone keeps (contract §2, §7.1): W, g and R = window.retain. */
export function planWindow(window: WindowConfig): WindowPlan {
  return { historySize: window.size, paneMs: window.paneMs, ringPanes: window.retain };
}

/**
 * One rule as the workers run it (contract §3, §7.4), with an override
 * merged on (§7.3): pane counts instead of durations, open bounds as
 * infinities, severity as a code, hysteresis levels filled in.
 */
export function planRule(rule: Rule, override: RuleOverride | undefined, paneMs: number, slot: number, version: number): PlannedRule {
  const merged = (override === undefined ? rule : { ...rule, ...override }) as Rule;
  const severity = merged.severity;
  const base = {
    id: rule.id,
    slot,
    version,
    every: rule.mode === 'every',
    severity,
    shadow: rule.shadow,
    forMs: merged.forMs,
    clearAbove: Number.POSITIVE_INFINITY,
    clearBelow: Number.NEGATIVE_INFINITY,
  };
  const bits = (kind: number) => stateBitsOf(kind, rule.shadow, SEVERITIES.indexOf(severity));
  switch (merged.type) {
    case 'threshold':
      return {
        ...base,
        kind: RuleKind.threshold,
        type: merged.type,
        stateBits: bits(RuleKind.threshold),
        above: merged.above ?? Number.POSITIVE_INFINITY,
        below: merged.below ?? Number.NEGATIVE_INFINITY,
        // Without a clear level a side resolves as soon as the rule stops firing there (x ≤ above holds then).
        clearAbove: merged.clearAbove ?? Number.POSITIVE_INFINITY,
        clearBelow: merged.clearBelow ?? Number.NEGATIVE_INFINITY,
      };
    case 'zscore':
      return { ...base, kind: RuleKind.zscore, type: merged.type, stateBits: bits(RuleKind.zscore), k: merged.k, minSamples: Math.max(1, merged.minSamples) };
    case 'window_avg':
      return {
        ...base,
        kind: RuleKind.windowAvg,
        type: merged.type,
        stateBits: bits(RuleKind.windowAvg),
        panes: merged.spanMs / paneMs,
        abovePct: merged.abovePct,
        minSamples: Math.max(1, merged.minSamples),
      };
    case 'rate_of_change':
      return {
        ...base,
        kind: RuleKind.rateOfChange,
        type: merged.type,
        stateBits: bits(RuleKind.rateOfChange),
        lagPanes: merged.lagMs / paneMs,
        pct: merged.pct,
        direction: Direction[merged.direction],
      };
  }
}

/** p(t) = floor(t / g), exact for every safe-integer t (a float quotient can round up across an integer). */
export function paneOf(ts: number, paneMs: number): number {
  let pane = Math.floor(ts / paneMs);
  if (pane * paneMs > ts) pane--;
  return pane;
}
