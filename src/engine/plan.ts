import type { Rule, RulesConfig } from '../config/types.js';
import { Direction, type Plan, type PlannedRule, RuleKind } from '../model/plan.js';

/** Turns the configured rules into the plan the workers run (contract §2–§3). */
export function planRules(config: RulesConfig): Plan {
  const { paneMs } = config.window;
  let ringPanes = 0;
  const rules = config.rules.map((rule: Rule): PlannedRule => {
    const base = { id: rule.id, every: rule.mode === 'every' };
    switch (rule.type) {
      case 'threshold':
        return {
          ...base,
          kind: RuleKind.threshold,
          type: rule.type,
          above: rule.above ?? Number.POSITIVE_INFINITY,
          below: rule.below ?? Number.NEGATIVE_INFINITY,
        };
      case 'zscore':
        return { ...base, kind: RuleKind.zscore, type: rule.type, k: rule.k, minSamples: Math.max(1, rule.minSamples) };
      case 'window_avg': {
        const panes = rule.spanMs / paneMs;
        ringPanes = Math.max(ringPanes, panes);
        return { ...base, kind: RuleKind.windowAvg, type: rule.type, panes, abovePct: rule.abovePct, minSamples: Math.max(1, rule.minSamples) };
      }
      case 'rate_of_change': {
        const lagPanes = rule.lagMs / paneMs;
        ringPanes = Math.max(ringPanes, lagPanes + 1);
        return { ...base, kind: RuleKind.rateOfChange, type: rule.type, lagPanes, pct: rule.pct, direction: Direction[rule.direction] };
      }
    }
  });
  return { historySize: config.window.size, paneMs, ringPanes, rules };
}

/** p(t) = floor(t / g), exact for every safe-integer t (a float quotient can round up across an integer). */
export function paneOf(ts: number, paneMs: number): number {
  let pane = Math.floor(ts / paneMs);
  if (pane * paneMs > ts) pane--;
  return pane;
}
