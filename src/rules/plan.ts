import type { Mode, Rule, RulesConfig } from '../config/types.js';

/** Rule parameters turned into pane counts once, so the per-reading path only does arithmetic. */
export type PlannedRule =
  | { kind: 0; id: string; type: 'threshold'; every: boolean; above: number; below: number }
  | { kind: 1; id: string; type: 'zscore'; every: boolean; k: number; minSamples: number }
  | { kind: 2; id: string; type: 'window_avg'; every: boolean; panes: number; abovePct: number; minSamples: number }
  | {
      kind: 3;
      id: string;
      type: 'rate_of_change';
      every: boolean;
      lagPanes: number;
      pct: number;
      direction: 0 | 1 | 2;
    };

export interface Plan {
  historySize: number;
  paneMs: number;
  /** R = max(P, L + 1) over all time rules; 0 when there are none. */
  ringPanes: number;
  rules: PlannedRule[];
}

export const Direction = { up: 0, down: 1, both: 2 } as const;

export function planRules(config: RulesConfig): Plan {
  const { paneMs } = config.window;
  let ringPanes = 0;
  const rules = config.rules.map((rule: Rule): PlannedRule => {
    const every = (rule.mode as Mode) === 'every';
    switch (rule.type) {
      case 'threshold':
        return {
          kind: 0,
          id: rule.id,
          type: rule.type,
          every,
          above: rule.above ?? Number.POSITIVE_INFINITY,
          below: rule.below ?? Number.NEGATIVE_INFINITY,
        };
      case 'zscore':
        return { kind: 1, id: rule.id, type: rule.type, every, k: rule.k, minSamples: Math.max(1, rule.minSamples) };
      case 'window_avg': {
        const panes = rule.spanMs / paneMs;
        ringPanes = Math.max(ringPanes, panes);
        return {
          kind: 2,
          id: rule.id,
          type: rule.type,
          every,
          panes,
          abovePct: rule.abovePct,
          minSamples: Math.max(1, rule.minSamples),
        };
      }
      case 'rate_of_change': {
        const lagPanes = rule.lagMs / paneMs;
        ringPanes = Math.max(ringPanes, lagPanes + 1);
        return {
          kind: 3,
          id: rule.id,
          type: rule.type,
          every,
          lagPanes,
          pct: rule.pct,
          direction: Direction[rule.direction],
        };
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
