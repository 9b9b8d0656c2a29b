import type { AlertStatus } from '../model/alert.js';
import { type AlertRule, Direction, type PlannedRule, RuleKind, type WindowPlan, type ZonePlan } from '../model/plan.js';
import type { Reading } from '../model/reading.js';
import { sigmaFloor } from './numerics.js';
import { paneOf } from './plan.js';
import type { RuleBook } from './rule-book.js';
import { FIRING, PENDING, type RuleStates, reconcile, statesOf, t0Of } from './rule-state.js';
import type { Totals } from './span-totals.js';
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
 * Applies one reading to its zone (contract §2–§4, §7): evaluates the rules
 * of the version in force at its ts against the state before the reading,
 * emits alerts, then adds the reading.
 *
 * Nothing is allocated per reading: a rule's details are numbers until it
 * emits (most readings emit nothing).
 */
export function applyReading(zone: ZoneState, reading: Reading, window: WindowPlan, book: RuleBook, emit: AlertEmitter): void {
  evaluateRules(zone, zone, reading, window, book, emit);
  addReading(zone, reading, window);
}

/**
 * Evaluates one rule set for a reading against its zone's statistics before
 * the reading: picks the rules of the version in force at the reading's ts
 * (the latest plan of `states`, unless the ts falls outside its version),
 * evaluates each, updates `states` and emits alerts. The statistics are not
 * changed (but for re-centring the running sums, which keeps their value),
 * so a backtest evaluates a second rule set with a second `states` over the
 * same zone before addReading.
 */
export function evaluateRules(
  zone: ZoneState,
  states: RuleStates,
  reading: Reading,
  window: WindowPlan,
  book: RuleBook,
  emit: AlertEmitter,
  memo?: StatsMemo,
): void {
  const x = reading.temperature;
  const ts = reading.ts;
  const seq = zone.seq + 1;
  if (memo !== undefined && (memo.zone !== zone || memo.seq !== seq)) memo.reset(zone, seq);
  let plan = states.plan;
  if (plan === null || ts < plan.span.from || ts >= plan.span.until) plan = enterPlan(zone, states, reading, seq, book, emit);
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
        const { mean, std } = memo === undefined ? momentsOf(zone, x, rule.k) : memo.momentsFor(x, rule.k);
        fires = std > sigmaFloor(mean) && Math.abs(x - mean) > rule.k * std;
        d0 = mean;
        d1 = std;
        d2 = std === 0 ? 0 : (x - mean) / std;
        break;
      }
      case RuleKind.windowAvg: {
        if (memo === undefined) zone.windowTotals(rule.panes, p, totals);
        else memo.windowTotals(rule.panes, p, totals);
        if (totals.count < rule.minSamples) break;
        evaluated = true;
        let avg = totals.sum / totals.count;
        let bound = avg + (Math.abs(avg) * rule.abovePct) / 100;
        if (Math.abs(x - bound) <= NEAR_AVG * (Math.abs(x) + Math.abs(bound))) {
          if (memo === undefined) zone.paneTotals(p - rule.panes + 1, p, totals);
          else memo.paneTotals(p - rule.panes + 1, p, totals);
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
        if (memo === undefined) zone.paneTotals(q, q, totals);
        else memo.paneTotals(q, q, totals);
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
    const flags = states.ruleFlags;
    const state = flags === null ? 0 : (flags[rule.slot] as number);
    if (fires) {
      if ((state & FIRING) === 0 && holdsLongEnough(states, rule, state, ts, plan)) {
        statesOf(states, plan.slots)[rule.slot] = FIRING | rule.stateBits;
        states.rulesChanged = true;
        emit(reading, seq, rule, 'firing', detailsOf(rule, d0, d1, d2), false);
      }
    } else if (state !== 0) {
      // The condition stopped: t0 is cleared; a FIRING rule resolves unless x is still past a clear level (hysteresis).
      states.rulesChanged = true;
      if ((state & FIRING) === 0) (flags as Uint8Array)[rule.slot] = 0;
      else if (x <= rule.clearAbove && x >= rule.clearBelow) {
        (flags as Uint8Array)[rule.slot] = 0;
        emit(reading, seq, rule, 'resolved', detailsOf(rule, d0, d1, d2), false);
      }
    }
  }
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

/** Adds a reading to its zone's statistics, once every rule set has evaluated it. */
export function addReading(zone: ZoneState, reading: Reading, window: WindowPlan): void {
  zone.seq++;
  zone.addToHistory(reading.temperature);
  if (window.ringPanes > 0) zone.addToPane(paneOf(reading.ts, window.paneMs), reading.temperature);
  zone.dirty = true;
}

/**
 * The zone's first reading under another plan (another version, or the
 * first since start or restore): drops the rule states the new plan has no
 * place for, resolving FIRING ones as removed (contract §7.2), then takes it.
 */
function enterPlan(zone: ZoneState, states: RuleStates, reading: Reading, seq: number, book: RuleBook, emit: AlertEmitter): ZonePlan {
  const plan = book.planFor(book.versionAt(reading.ts), reading.zoneId);
  if (plan !== states.plan) {
    for (const removal of reconcile(states, plan, book)) emit(reading, seq, removal, 'resolved', REMOVED_DETAILS, true);
    // States the zone already has must cover the plan's slots (a newer version may have added rule ids).
    if (states.ruleFlags !== null) statesOf(states, plan.slots);
    // The zone's running window_avg totals follow its own rule set (a backtest's baseline, evaluated over
    // the same zone, scans for spans only it has: the same decisions, the same alerts).
    if (states === zone) zone.trackSpans(plan.spans);
    states.plan = plan;
  }
  return plan;
}

/**
 * An OK rule whose condition holds: does it fire now? With `for`, only once
 * the condition has held on every evaluation since t0 and ts − t0 ≥ for; the
 * first such evaluation sets t0 (contract §7.4).
 */
function holdsLongEnough(states: RuleStates, rule: PlannedRule, state: number, ts: number, plan: ZonePlan): boolean {
  if ((state & PENDING) === 0) {
    if (rule.forMs === 0) return true;
    statesOf(states, plan.slots)[rule.slot] = PENDING | rule.stateBits;
    t0Of(states)[rule.slot] = ts;
    states.rulesChanged = true;
    return false;
  }
  return ts - (states.ruleT0?.[rule.slot] ?? ts) >= rule.forMs;
}

/** The zone's mean and σ for a zscore decision on x with this k: exact (two passes) when the decision is within rounding of its boundary. */
function momentsOf(zone: ZoneState, x: number, k: number): Moments {
  zone.moments(moments);
  if (nearZscoreBoundary(x, k, moments)) zone.exactMoments(moments);
  return moments;
}

/**
 * The statistic queries of one reading, remembered for the next rule set
 * evaluated over the same zone and reading: a backtest evaluates two before
 * addReading, and the statistics, so the answers, are the same for both.
 * (Measured: a second rule set costs a worker about 25% more per reading
 * without it.)
 */
export class StatsMemo {
  private zoneOf: ZoneState | null = null;
  private seqOf = 0;
  private fast: Moments | null = null;
  private exact: Moments | null = null;
  /** [from, to, sum, count] of each pane range scanned (paneTotals). */
  private readonly ranges: number[] = [];
  /** [panes, p, sum, count] of each window from a running total (windowTotals: a last place apart from a scan). */
  private readonly windows: number[] = [];

  get zone(): ZoneState | null {
    return this.zoneOf;
  }

  get seq(): number {
    return this.seqOf;
  }

  reset(zone: ZoneState, seq: number): void {
    this.zoneOf = zone;
    this.seqOf = seq;
    this.fast = null;
    this.exact = null;
    this.ranges.length = 0;
    this.windows.length = 0;
  }

  momentsFor(x: number, k: number): Moments {
    const zone = this.zoneOf as ZoneState;
    if (this.fast === null) {
      this.fast = { mean: 0, std: 0 };
      zone.moments(this.fast);
    }
    if (!nearZscoreBoundary(x, k, this.fast)) return this.fast;
    if (this.exact === null) {
      this.exact = { mean: 0, std: 0 };
      zone.exactMoments(this.exact);
    }
    return this.exact;
  }

  paneTotals(from: number, to: number, out: Totals): void {
    if (recall(this.ranges, from, to, out)) return;
    (this.zoneOf as ZoneState).paneTotals(from, to, out);
    this.ranges.push(from, to, out.sum, out.count);
  }

  windowTotals(panes: number, p: number, out: Totals): void {
    if (recall(this.windows, panes, p, out)) return;
    (this.zoneOf as ZoneState).windowTotals(panes, p, out);
    this.windows.push(panes, p, out.sum, out.count);
  }
}

/** Copies into `out` the totals remembered under (a, b) in a list of [a, b, sum, count]; false if none. */
function recall(remembered: number[], a: number, b: number, out: Totals): boolean {
  for (let i = 0; i < remembered.length; i += 4) {
    if (remembered[i] === a && remembered[i + 1] === b) {
      out.sum = remembered[i + 2] as number;
      out.count = remembered[i + 3] as number;
      return true;
    }
  }
  return false;
}

/** Is either zscore comparison (the σ guard, or │x − μ│ against k·σ) within rounding of flipping? */
function nearZscoreBoundary(x: number, k: number, { mean, std }: Moments): boolean {
  const guard = sigmaFloor(mean);
  const deviation = Math.abs(x - mean);
  return Math.abs(std - guard) <= 1e-6 * guard || Math.abs(deviation - k * std) <= NEAR * (deviation + k * std);
}
