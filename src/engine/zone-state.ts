import type { WindowPlan, ZonePlan } from '../model/plan.js';
import { History } from './history.js';
import { roundingError } from './numerics.js';
import { PaneRing } from './pane-ring.js';
import { type RuleStates, releaseRuleStates } from './rule-state.js';
import { SpanTotal, spanWindow, type Totals } from './span-totals.js';

export interface Moments {
  mean: number;
  std: number;
}

const NO_SPANS: readonly SpanTotal[] = [];
/** Where spanWindow adjusts a total for one reading (one thread, one reading at a time). */
const adjusted = new SpanTotal(0);

/**
 * One zone's rolling state (contract §2): the last W values (history.ts:
 * decimals in 2 or 4 bytes each) and the pane ring (pane-ring.ts: sum,
 * error and count of the panes that hold readings), both in places of
 * shared slabs (slab.ts), never an ArrayBuffer per zone. They depend only on
 * the window, never on the rules (contract §7.1). The rule states (FIRING,
 * t0) are kept apart, by rule slot (rule-state.ts), and only once the zone
 * has one. No per-reading objects are kept.
 *
 * Mean and variance come from sums of values shifted by a per-zone constant
 * near the mean, recomputed exactly from the ring every W additions, so
 * neither values far from zero nor millions of add/remove steps cost precision.
 * Pane sums carry a Neumaier compensation term: the contract's averages are
 * exactly rounded, and repeated sensor values (x equal to the average) must
 * not fire `x > avg` because a plain sum rounded down.
 */
export class ZoneState implements RuleStates {
  /** Accepted readings so far; the next reading's seq is seq + 1. */
  seq = 0;
  /** Values in the history ring (≤ W). */
  count = 0;
  /** Ring slot the next value goes to. */
  head = 0;
  shift = 0;
  sum = 0;
  sumSq = 0;
  sinceRecompute = 0;
  /** Set whenever the zone changes; cleared by incremental snapshots. */
  dirty = true;
  /** Its worker's task count at the zone's latest reading: tiering evicts the least recently used first. */
  lastUsed = 0;
  /** The cut that last exported the zone (0: none since it was made or restored): tiering evicts it only once that cut is saved. */
  exportedAt = 0;
  /** A cut's export holds the zone and has not exported it yet (pending-export.ts): export it before changing it. */
  exportPending = false;
  /** The source partition of the zone's latest reading: its snapshot is stored with that partition. */
  partition = -1;
  /** Whether the store holds a whole image of this zone under `partition` (else a snapshot must write it whole). */
  stored = false;
  /** Never snapshotted nor restored: everything written since it was made is what changed (zone-image.ts writes its first image sparse). */
  pristine = true;
  /** Values added to the history since the last snapshot: the slots before `head` that changed. */
  historyAdded = 0;
  /** Lowest pane index written or recycled since the last snapshot (Infinity: none): panes from here to M changed. */
  paneLow = Number.POSITIVE_INFINITY;
  /** The rules of the zone's latest reading (null: none yet, or restored): a reading outside its version's span looks again. */
  plan: ZonePlan | null = null;
  /** Rule states by slot (rule-state.ts); null until the zone has one. */
  ruleFlags: Uint8Array | null = null;
  /** t0 by slot, for PENDING states; null until a rule with `for` needs one. */
  ruleT0: Float64Array | null = null;
  /** The rule states changed since the last snapshot. */
  rulesChanged = false;
  /** Bytes of the rule states as last encoded into an image (zone-image.ts). */
  ruleBytes = 0;
  /** Bytes the image reserves for the rule states: grows, never shrinks, so a stored image is only ever written over. */
  ruleCapacity = 0;
  /** Running totals of the window_avg spans of the zone's plan (span-totals.ts); not part of its image. */
  spanTotals: readonly SpanTotal[] = NO_SPANS;

  readonly history: History;
  readonly panes: PaneRing;

  constructor(window: WindowPlan) {
    this.history = new History(window.historySize);
    this.panes = new PaneRing(window.ringPanes);
  }

  /** Largest pane index among the zone's readings (M); -Infinity before the first. */
  get maxPane(): number {
    return this.panes.max;
  }

  set maxPane(pane: number) {
    this.panes.max = pane;
  }

  /** Bytes of the slab places the zone's statistics take. */
  get bytes(): number {
    return this.history.bytes + this.panes.bytes;
  }

  /** The zone is gone (dropped, replaced, evicted): its places in the shared slabs are given back. Not used after. */
  release(): void {
    this.history.release();
    this.panes.release();
    releaseRuleStates(this);
  }

  /** Forgets what changed: called once a snapshot has taken the zone's changes. */
  markSnapshotted(): void {
    this.dirty = false;
    this.rulesChanged = false;
    this.stored = true;
    this.pristine = false;
    this.historyAdded = 0;
    this.paneLow = Number.POSITIVE_INFINITY;
  }

  /**
   * Mean and population standard deviation of the history, into `out`.
   * When the variance is tiny next to the shifted second moment (values moved
   * far from the shift, e.g. a constant run after a jump), `sumSq/n − m²`
   * would cancel catastrophically, so the sums are re-centred first.
   */
  moments(out: Moments): void {
    const n = this.count;
    let m = this.sum / n;
    let second = this.sumSq / n;
    let variance = second - m * m;
    const scale = 1e-10 * Math.max(1, Math.abs(this.shift + m));
    // Below scale² every σ is far under the zscore guard: no precision is needed.
    if (variance < 1e-6 * second && second > scale * scale) {
      this.recompute();
      m = this.sum / n;
      second = this.sumSq / n;
      variance = second - m * m;
    }
    out.mean = this.shift + m;
    out.std = variance > 0 ? Math.sqrt(variance) : 0;
  }

  /**
   * The same moments computed the slow, exact way (two passes, compensated
   * sums), for decisions that sit within rounding of their boundary.
   */
  exactMoments(out: Moments): void {
    const n = this.count;
    const w = this.history.size;
    // Oldest first, as the history reads: compensated sums are not exactly rounded, so the order is part of the result.
    const start = (this.head - n + w) % w;
    const values = this.history;
    let sum = 0;
    let error = 0;
    for (let k = 0, i = start; k < n; k++, i = i + 1 === w ? 0 : i + 1) {
      const x = values.at(i);
      const next = sum + x;
      error += roundingError(sum, x, next);
      sum = next;
    }
    const mean = (sum + error) / n;
    sum = 0;
    error = 0;
    for (let k = 0, i = start; k < n; k++, i = i + 1 === w ? 0 : i + 1) {
      const d = values.at(i) - mean;
      const x = d * d;
      const next = sum + x;
      error += roundingError(sum, x, next);
      sum = next;
    }
    out.mean = mean;
    out.std = Math.sqrt((sum + error) / n);
  }

  addToHistory(x: number): void {
    const w = this.history.size;
    if (this.count === 0) this.shift = x;
    const d = x - this.shift;
    if (this.count === w) {
      const old = this.history.at(this.head) - this.shift;
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      this.count++;
    }
    this.history.set(this.head, x);
    this.historyAdded++;
    this.head = this.head + 1 === w ? 0 : this.head + 1;
    this.sum += d;
    this.sumSq += d * d;
    if (++this.sinceRecompute >= w) this.recompute();
  }

  /** Re-centres on the current mean and sums the ring afresh, dropping accumulated rounding. */
  recompute(): void {
    const n = this.count;
    this.sinceRecompute = 0;
    if (n === 0) return;
    const centre = this.shift + this.sum / n;
    let sum = 0;
    let sumSq = 0;
    const values = this.history;
    for (let i = 0; i < n; i++) {
      const d = values.at(i) - centre;
      sum += d;
      sumSq += d * d;
    }
    this.shift = centre;
    this.sum = sum;
    this.sumSq = sumSq;
  }

  /** Is pane q available (q > M − R)? Every pane is, before the first reading. */
  isAvailable(q: number): boolean {
    return this.panes.isAvailable(q);
  }

  /** Adds a value to pane p if it is available or newer than M; returns false for a too-late reading. */
  addToPane(p: number, x: number): boolean {
    const panes = this.panes;
    if (panes.size === 0) return true;
    const m = panes.max;
    const spans = this.spanTotals;
    if (p > m) {
      // Panes leave the span totals before the ring drops them.
      for (let i = 0; i < spans.length; i++) {
        const total = spans[i] as SpanTotal;
        if (total.valid) total.advance(panes, m, p);
      }
      // Panes from M + 1 changed (a dense image's recycled slots are zeroed).
      if (m !== Number.NEGATIVE_INFINITY && m + 1 < this.paneLow) this.paneLow = m + 1;
    }
    if (!panes.add(p, x)) return false;
    if (p < this.paneLow) this.paneLow = p;
    for (let i = 0; i < spans.length; i++) {
      const total = spans[i] as SpanTotal;
      if (total.valid && p > panes.max - total.panes) total.addValue(x);
    }
    return true;
  }

  /**
   * Keeps running totals for these window_avg spans (in panes; those longer
   * than the ring are left to the scan), and drops the others. Totals of
   * spans kept go on; new ones are summed from the ring when first read.
   */
  trackSpans(spans: readonly number[]): void {
    const kept = spans.filter((panes) => panes <= this.panes.size);
    if (kept.length === this.spanTotals.length && kept.every((panes, i) => this.spanTotals[i]?.panes === panes)) return;
    this.spanTotals = kept.length === 0 ? NO_SPANS : kept.map((panes) => this.spanTotals.find((total) => total.panes === panes) ?? new SpanTotal(panes));
  }

  /**
   * Sum and count of the available panes q with p − P + 1 ≤ q ≤ p (a window_avg
   * of P panes for a reading in pane p), from the span's running total when
   * the zone keeps one, else by a scan (paneTotals). Both are compensated
   * sums of the same panes and agree to the last place or so; callers that
   * decide within rounding of a boundary scan (evaluate.ts).
   */
  windowTotals(panes: number, p: number, out: Totals): void {
    const spans = this.spanTotals;
    for (let i = 0; i < spans.length; i++) {
      const total = spans[i] as SpanTotal;
      if (total.panes === panes) {
        if (spanWindow(total, this.panes, p, out, adjusted)) return;
        break;
      }
    }
    this.paneTotals(p - panes + 1, p, out);
  }

  /** Sum and count over available panes q with from ≤ q ≤ to, written into `out`. */
  paneTotals(from: number, to: number, out: Totals): void {
    this.panes.totals(from, to, out);
  }
}
