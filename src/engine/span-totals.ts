import { roundingError } from './numerics.js';
import type { PaneRing } from './pane-ring.js';

export interface Totals {
  sum: number;
  count: number;
}

/** After this many updates a total is summed afresh from the ring, so its rounding cannot build up over a long run. */
const RESYNC_UPDATES = 1 << 14;

/**
 * The running total of a zone's panes [M − P + 1, M] for one window_avg span
 * of P panes, kept as the readings are added, so a reading's average costs
 * O(1) instead of a scan of P panes (the 5-minute average scanned 300 panes
 * per reading: ~2.8 µs of the worker's ~6 µs, profiled). The sum is
 * compensated like the panes' own (Neumaier: `error` holds what `sum`
 * rounded away), and panes leave it by subtracting exactly what they hold,
 * so it stays within a few units in the last place of the exact total.
 *
 * A total that is not valid (new, restored, or due for a resync) is summed
 * from the ring at its next read.
 */
export class SpanTotal {
  sum = 0;
  error = 0;
  count = 0;
  valid = false;
  updates = 0;

  constructor(readonly panes: number) {}

  /** Adds a reading's value (its pane is within [M − P + 1, M]). */
  addValue(x: number): void {
    const next = this.sum + x;
    this.error += roundingError(this.sum, x, next);
    this.sum = next;
    this.count++;
    this.updates++;
  }

  /**
   * M moves from `from` to `to`: the panes that leave the span
   * ([from − P + 1, to − P]) are taken out, before the ring recycles them.
   */
  advance(ring: PaneRing, from: number, to: number): void {
    if (to - from >= this.panes) {
      this.sum = 0;
      this.error = 0;
      this.count = 0;
    } else {
      for (let q = Math.max(0, from - this.panes + 1); q <= to - this.panes; q++) takePane(this, ring, q, -1);
    }
    this.updates++;
  }

  /** Sums the span afresh from the ring. */
  resync(ring: PaneRing): void {
    this.sum = 0;
    this.error = 0;
    this.count = 0;
    this.updates = 0;
    this.valid = true;
    const m = ring.max;
    if (m === Number.NEGATIVE_INFINITY) return;
    for (let q = Math.max(0, m - this.panes + 1); q <= m; q++) takePane(this, ring, q, 1);
  }
}

/**
 * Totals of the available panes q with p − P + 1 ≤ q ≤ p (the window_avg
 * of a reading in pane p, contract §3), from the span's running total:
 * the panes between the reading's window and [M − P + 1, M] are added or
 * taken out (none for a reading in pane M, one for the first reading of a
 * new pane). Returns false, writing nothing, when that would take more
 * than half a scan (a reading far out of order): the caller scans.
 */
export function spanWindow(total: SpanTotal, ring: PaneRing, p: number, out: Totals, scratch: SpanTotal): boolean {
  if (!total.valid || total.updates >= RESYNC_UPDATES) total.resync(ring);
  const m = ring.max;
  if (m === Number.NEGATIVE_INFINITY) {
    out.sum = 0;
    out.count = 0;
    return true;
  }
  const r = ring.size;
  const panes = total.panes;
  // The window: [a, b]; the total covers [c, m].
  const a = Math.max(p - panes + 1, m - r + 1, 0);
  const b = Math.min(p, m);
  const c = Math.max(m - panes + 1, 0);
  if (b < a) {
    out.sum = 0;
    out.count = 0;
    return true;
  }
  if (b < c || Math.abs(a - c) + (m - b) > panes >> 1) return false;
  scratch.sum = total.sum;
  scratch.error = total.error;
  scratch.count = total.count;
  for (let q = c; q < a; q++) takePane(scratch, ring, q, -1);
  for (let q = a; q < c; q++) takePane(scratch, ring, q, 1);
  for (let q = b + 1; q <= m; q++) takePane(scratch, ring, q, -1);
  out.sum = scratch.sum + scratch.error;
  out.count = scratch.count;
  return true;
}

/**
 * Adds (sign 1) or takes out (sign -1) pane q's sum, rounding error and
 * count. An empty pane would add exact zeros to a sum that is never −0
 * (it starts at +0): it is skipped, which changes no bit.
 */
function takePane(total: SpanTotal, ring: PaneRing, q: number, sign: 1 | -1): void {
  const k = ring.entry(q);
  if (k < 0) return;
  const paneSum = ring.sumAt(k);
  const x = sign === 1 ? paneSum : -paneSum;
  const next = total.sum + x;
  const paneError = ring.errorAt(k);
  total.error += roundingError(total.sum, x, next) + (sign === 1 ? paneError : -paneError);
  total.sum = next;
  const count = ring.countAt(k);
  total.count += sign === 1 ? count : -count;
}
