import type { AlertStatus } from '../model/alert.js';
import { type AlertRule, Direction, type PlannedRule, RuleKind, type WindowPlan, type ZonePlan } from '../model/plan.js';
import type { Reading } from '../model/reading.js';
import { sigmaFloor } from './numerics.js';
import { paneOf } from './plan.js';
import type { RuleBook } from './rule-book.js';
import { FIRING, PENDING, reconcile, statesOf, t0Of } from './rule-state.js';
import type { Moments, ZoneState } from './zone-state.js';

/**
 * Receives each alert as it is decided, in reading order, then (for one
 * reading) removals in rule id order and then the rules in their order.
 * `removed`: a FIRING state dropped by a version change (contract §7.2).
 */
export type AlertEmitter = (reading: Reading, seq: number, rule: AlertRule, status: AlertStatus, details: Record<string, number>, removed: boolean) => void;

const NO_DETAILS: Record<string, number> = Object.freeze({}) as Record<string, number>;
const REMOVED_DETAILS: Record<string, number> = Object.freeze({ removed: 1 }) as Record<string, number>;
const totals = { sum: 0, count: 0 };
const moments: Moments = { mean: 0, std: 0 };
// Relative distance from a boundary under which a decision is re-checked with exact moments. The running
// sums drift between re-centrings; 4e-9 was seen (a random stream, test/integration/generated-streams),
// so the margin is wide: the exact re-check is O(W) but rare.
const NEAR = 1e-6;
// The same for window_avg: its running total (span-totals.ts) and the scan of the panes are both compensated
// sums, a unit in the last place or so apart; within this of its bound the decision is the scan's.
const NEAR_AVG = 1e-12;

/**
 * Applies one reading to its zone (contract §2–§4, §7): picks the rules of
 * the version in force at the reading's ts (the zone's latest plan, unless
 * the ts falls outside its version), evaluates each against the state
 * before the reading, emits alerts, then adds the reading.
 *
 * Nothing is allocated per reading: a rule's details are numbers until it
 * emits (most readings emit nothing).
 */
export function applyReading(zone: ZoneState, reading: Reading, window: WindowPlan, book: RuleBook, emit: AlertEmitter): void {
  const x = reading.temperature;
  const ts = reading.ts;
  const seq = zone.seq + 1;
  let plan = zone.plan;
  if (plan === null || ts < plan.span.from || ts >= plan.span.until) plan = enterPlan(zone, reading, seq, book, emit);
  const p = window.ringPanes > 0 ? paneOf(ts, window.paneMs) : 0;
  const rules = plan.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as PlannedRule;
    let evaluated = false;
    let fires = false;
    // The rule's details (detailsOf), as numbers.
    let d0 = 0;
    let d1 = 0;
    let d2 = 0;
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
        d0 = mean;
        d1 = std;
        d2 = std === 0 ? 0 : (x - mean) / std;
        break;
      }
      case RuleKind.windowAvg: {
        zone.windowTotals(rule.panes, p, totals);
        if (totals.count < rule.minSamples) break;
        evaluated = true;
        let avg = totals.sum / totals.count;
        let bound = avg + (Math.abs(avg) * rule.abovePct) / 100;
        if (Math.abs(x - bound) <= NEAR_AVG * (Math.abs(x) + Math.abs(bound))) {
          zone.paneTotals(p - rule.panes + 1, p, totals);
          avg = totals.sum / totals.count;
          bound = avg + (Math.abs(avg) * rule.abovePct) / 100;
        }
        fires = x > bound;
        d0 = avg;
        d1 = totals.count;
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
        d0 = ref;
        d1 = changePct;
        break;
      }
    }
    if (rule.every) {
      if (fires) emit(reading, seq, rule, 'firing', detailsOf(rule, d0, d1, d2), false);
      continue;
    }
    // Edge mode. A rule that is not evaluated changes nothing (contract §4, §7.4).
    if (!evaluated) continue;
    const flags = zone.ruleFlags;
    const state = flags === null ? 0 : (flags[rule.slot] as number);
    if (fires) {
      if ((state & FIRING) === 0 && holdsLongEnough(zone, rule, state, ts, plan)) {
        statesOf(zone, plan.slots)[rule.slot] = FIRING | rule.stateBits;
        zone.rulesChanged = true;
        emit(reading, seq, rule, 'firing', detailsOf(rule, d0, d1, d2), false);
      }
    } else if (state !== 0) {
      // The condition stopped: t0 is cleared; a FIRING rule resolves unless x is still past a clear level (hysteresis).
      zone.rulesChanged = true;
      if ((state & FIRING) === 0) (flags as Uint8Array)[rule.slot] = 0;
      else if (x <= rule.clearAbove && x >= rule.clearBelow) {
        (flags as Uint8Array)[rule.slot] = 0;
        emit(reading, seq, rule, 'resolved', detailsOf(rule, d0, d1, d2), false);
      }
    }
  }
  zone.seq = seq;
  zone.addToHistory(x);
  if (window.ringPanes > 0) zone.addToPane(p, x);
  zone.dirty = true;
}

/** An alert's `details` (contract §3), from the numbers its rule's evaluation left. */
function detailsOf(rule: PlannedRule, d0: number, d1: number, d2: number): Record<string, number> {
  switch (rule.kind) {
    case RuleKind.threshold:
      return NO_DETAILS;
    case RuleKind.zscore:
      return { mean: d0, std: d1, z: d2 };
    case RuleKind.windowAvg:
      return { avg: d0, count: d1 };
    case RuleKind.rateOfChange:
      return { ref: d0, changePct: d1 };
  }
}

/**
 * The zone's first reading under another plan (another version, or the
 * first since start or restore): drops the rule states the new plan has no
 * place for, resolving FIRING ones as removed (contract §7.2), then takes it.
 */
function enterPlan(zone: ZoneState, reading: Reading, seq: number, book: RuleBook, emit: AlertEmitter): ZonePlan {
  const plan = book.planFor(book.versionAt(reading.ts), reading.zoneId);
  if (plan !== zone.plan) {
    for (const removal of reconcile(zone, plan, book)) emit(reading, seq, removal, 'resolved', REMOVED_DETAILS, true);
    // States the zone already has must cover the plan's slots (a newer version may have added rule ids).
    if (zone.ruleFlags !== null) statesOf(zone, plan.slots);
    zone.trackSpans(plan.spans);
    zone.plan = plan;
  }
  return plan;
}

/**
 * An OK rule whose condition holds: does it fire now? With `for`, only once
 * the condition has held on every evaluation since t0 and ts − t0 ≥ for; the
 * first such evaluation sets t0 (contract §7.4).
 */
function holdsLongEnough(zone: ZoneState, rule: PlannedRule, state: number, ts: number, plan: ZonePlan): boolean {
  if ((state & PENDING) === 0) {
    if (rule.forMs === 0) return true;
    statesOf(zone, plan.slots)[rule.slot] = PENDING | rule.stateBits;
    t0Of(zone)[rule.slot] = ts;
    zone.rulesChanged = true;
    return false;
  }
  return ts - (zone.ruleT0?.[rule.slot] ?? ts) >= rule.forMs;
}

/** Is either zscore comparison (the σ guard, or │x − μ│ against k·σ) within rounding of flipping? */
function nearZscoreBoundary(x: number, k: number, { mean, std }: Moments): boolean {
  const guard = sigmaFloor(mean);
  const deviation = Math.abs(x - mean);
  return Math.abs(std - guard) <= 1e-6 * guard || Math.abs(deviation - k * std) <= NEAR * (deviation + k * std);
}
