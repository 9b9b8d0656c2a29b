import type { AlertStatus } from '../model/alert.js';
import { Direction, type Plan, type PlannedRule, RuleKind } from '../model/plan.js';
import type { Reading } from '../model/reading.js';
import { sigmaFloor } from './numerics.js';
import { paneOf } from './plan.js';
import type { Moments, ZoneState } from './zone-state.js';

/** Receives each alert as it is decided, in reading order and then rule order. */
export type AlertEmitter = (reading: Reading, seq: number, rule: PlannedRule, status: AlertStatus, details: Record<string, number>) => void;

const NO_DETAILS: Record<string, number> = Object.freeze({}) as Record<string, number>;
const totals = { sum: 0, count: 0 };
const moments: Moments = { mean: 0, std: 0 };
// Relative distance from a boundary under which a decision is re-checked with exact moments. The running
// sums drift between re-centrings; 4e-9 was seen (a random stream, test/integration/generated-streams),
// so the margin is wide: the exact re-check is O(W) but rare.
const NEAR = 1e-6;

/**
 * Applies one reading to its zone (contract §2–§4): evaluates every rule
 * against the state before the reading, emits alerts, then adds the reading.
 */
export function applyReading(zone: ZoneState, reading: Reading, plan: Plan, emit: AlertEmitter): void {
  const x = reading.temperature;
  const seq = zone.seq + 1;
  const p = plan.ringPanes > 0 ? paneOf(reading.ts, plan.paneMs) : 0;
  const rules = plan.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as PlannedRule;
    let evaluated = false;
    let fires = false;
    let details = NO_DETAILS;
    switch (rule.kind) {
      case RuleKind.threshold:
        evaluated = true;
        fires = x > rule.above || x < rule.below;
        break;
      case RuleKind.zscore: {
        if (zone.count < rule.minSamples) break;
        evaluated = true;
        zone.moments(moments);
        if (nearZscoreBoundary(x, rule.k, moments)) zone.exactMoments(moments);
        const { mean, std } = moments;
        fires = std > sigmaFloor(mean) && Math.abs(x - mean) > rule.k * std;
        details = { mean, std, z: std === 0 ? 0 : (x - mean) / std };
        break;
      }
      case RuleKind.windowAvg: {
        zone.paneTotals(p - rule.panes + 1, p, totals);
        if (totals.count < rule.minSamples) break;
        evaluated = true;
        const avg = totals.sum / totals.count;
        fires = x > avg + (Math.abs(avg) * rule.abovePct) / 100;
        details = { avg, count: totals.count };
        break;
      }
      case RuleKind.rateOfChange: {
        const q = p - rule.lagPanes;
        if (q > zone.maxPane || !zone.isAvailable(q)) break;
        zone.paneTotals(q, q, totals);
        if (totals.count === 0) break;
        const ref = totals.sum / totals.count;
        if (ref === 0) break;
        evaluated = true;
        const changePct = ((x - ref) / Math.abs(ref)) * 100;
        fires =
          rule.direction === Direction.up ? changePct > rule.pct : rule.direction === Direction.down ? changePct < -rule.pct : Math.abs(changePct) > rule.pct;
        details = { ref, changePct };
        break;
      }
    }
    if (rule.every) {
      if (fires) emit(reading, seq, rule, 'firing', details);
    } else if (fires && zone.firing[i] === 0) {
      zone.firing[i] = 1;
      emit(reading, seq, rule, 'firing', details);
    } else if (evaluated && !fires && zone.firing[i] === 1) {
      zone.firing[i] = 0;
      emit(reading, seq, rule, 'resolved', details);
    }
  }
  zone.seq = seq;
  zone.addToHistory(x);
  if (plan.ringPanes > 0) zone.addToPane(p, x);
  zone.dirty = true;
}

/** Is either zscore comparison (the σ guard, or │x − μ│ against k·σ) within rounding of flipping? */
function nearZscoreBoundary(x: number, k: number, { mean, std }: Moments): boolean {
  const guard = sigmaFloor(mean);
  const deviation = Math.abs(x - mean);
  return Math.abs(std - guard) <= 1e-6 * guard || Math.abs(deviation - k * std) <= NEAR * (deviation + k * std);
}
