import { roundingError } from './numerics.js';
import type { Slab, SlabPool } from './slab.js';
import { slabPool } from './slab.js';

/** Counts are 2 bytes each until one would pass this; then the ring moves to 4-byte counts. */
const NARROW_COUNT_MAX = 0xffff;

/**
 * A zone's panes (contract §2): for the R most recent pane indices
 * (M − R, M], each pane's sum, the sum's rounding error (Neumaier) and its
 * count. Kept sparse: only panes that hold a reading take room (18 bytes
 * each: two doubles and a 2-byte count, 4 bytes once a pane passes 65,535
 * readings), in pane order in a circular list, with a bitmap of the ring
 * slots (p mod R) they occupy. At scale a zone reads every second or few
 * and many of its panes are empty (zone-templates.ts: ~160 of 301 at
 * 200,000 zones, ~80 at 500,000); a zone that fills every pane costs what a
 * dense ring does, plus the bitmap.
 *
 * The room is a place in a shared slab (slab.ts) of one of a few sizes,
 * taken anew when the ring outgrows it; release() gives it back.
 *
 * Totals are summed in pane order, as a dense ring sums them: an empty pane
 * would add exact zeros (to sums that are never −0), so skipping it changes
 * no bit.
 */
export class PaneRing {
  /** M: the largest pane index among the zone's readings; -Infinity before the first. */
  max = Number.NEGATIVE_INFINITY;
  /** Entries the place holds (0: no place yet). */
  private capacity = 0;
  private wide = false;
  private pool: SlabPool | null = null;
  private place = -1;
  private slab: Slab | null = null;
  /** Indexes of the place's parts in the slab's views: sums (f64; errors follow), bitmap (u32), counts (u16, or u32 when wide). */
  private sums = 0;
  private bitmap = 0;
  private counts = 0;
  /** Physical index of the oldest entry, and how many entries there are. */
  private head = 0;
  private length = 0;

  constructor(readonly size: number) {}

  /** Panes that hold a reading. */
  get occupied(): number {
    return this.length;
  }

  /** Bytes of the ring's place. */
  get bytes(): number {
    return this.pool === null ? 0 : this.pool.placeBytes;
  }

  /** Is pane q in the ring (q > M − R)? Every pane is, before the first reading. */
  isAvailable(q: number): boolean {
    return q > this.max - this.size;
  }

  /** Adds a value to pane p if it is in the ring or newer than M; returns false for a too-late reading. */
  add(p: number, x: number): boolean {
    const r = this.size;
    if (r === 0) return true;
    const m = this.max;
    let k: number;
    if (p > m) {
      if (m !== Number.NEGATIVE_INFINITY) this.dropThrough(p - r);
      this.max = p;
      k = this.insertAt(this.length, p);
    } else if (p <= m - r) {
      return false;
    } else if (this.isSet(p % r)) {
      k = this.physical(this.countBetween(m - r + 1, p - 1));
    } else {
      // A late reading in an empty pane: it goes between its neighbours (rare).
      k = this.insertAt(this.countBetween(m - r + 1, p - 1), p);
    }
    const slab = this.slab as Slab;
    const values = slab.f64;
    const at = this.sums + k;
    const errorAt = at + this.capacity;
    const sum = values[at] as number;
    const next = sum + x;
    values[errorAt] = (values[errorAt] as number) + roundingError(sum, x, next);
    values[at] = next;
    const count = this.countAt(k) + 1;
    if (count > NARROW_COUNT_MAX && !this.wide) {
      // Relocated, the entries start at index 0, oldest first.
      const i = k >= this.head ? k - this.head : k + this.capacity - this.head;
      this.relocate(this.capacity, true);
      k = i;
    }
    this.setCount(k, count);
    return true;
  }

  /** The physical index of pane q's entry, or -1 when q holds no reading (or is not in the ring). */
  entry(q: number): number {
    const m = this.max;
    if (this.length === 0 || q < 0 || q > m || q <= m - this.size || !this.isSet(q % this.size)) return -1;
    return this.physical(this.countBetween(m - this.size + 1, q - 1));
  }

  sumAt(k: number): number {
    return (this.slab as Slab).f64[this.sums + k] as number;
  }

  errorAt(k: number): number {
    return (this.slab as Slab).f64[this.sums + this.capacity + k] as number;
  }

  countAt(k: number): number {
    const slab = this.slab as Slab;
    return (this.wide ? slab.u32[this.counts + k] : slab.u16[this.counts + k]) as number;
  }

  /** Sum and count over panes q in the ring with from ≤ q ≤ to, written into `out`. */
  totals(from: number, to: number, out: { sum: number; count: number }): void {
    const r = this.size;
    const m = this.max;
    // Panes are never negative (ts ≥ 0): a window reaching before pane 0 holds nothing there.
    const lo = Math.max(from, m - r + 1, 0);
    const hi = Math.min(to, m);
    let sum = 0;
    let error = 0;
    let count = 0;
    if (lo <= hi && this.length > 0) {
      const n = this.countBetween(lo, hi);
      const capacity = this.capacity;
      const values = (this.slab as Slab).f64;
      let k = this.physical(this.countBetween(m - r + 1, lo - 1));
      for (let i = 0; i < n; i++) {
        const x = values[this.sums + k] as number;
        const next = sum + x;
        error += (values[this.sums + capacity + k] as number) + roundingError(sum, x, next);
        sum = next;
        count += this.countAt(k);
        k = k + 1 === capacity ? 0 : k + 1;
      }
    }
    out.sum = sum + error;
    out.count = count;
  }

  /**
   * Writes `n` ring slots from `first` (no wrap past R) as a dense ring holds
   * them (zone-image.ts): for each slot, of the pane in (M − R, M] it stands
   * for, the sum or the error (float64) or the count (uint32), little-endian,
   * zero for an empty pane.
   */
  writeDense(part: 'sum' | 'error' | 'count', first: number, n: number, out: Buffer, at: number): void {
    const r = this.size;
    const m = this.max;
    if (m === Number.NEGATIVE_INFINITY || this.length === 0) {
      out.fill(0, at, at + n * (part === 'count' ? 4 : 8));
      return;
    }
    const oldest = m - r + 1;
    // The pane slot `first` stands for, and the entries before it in pane order.
    let q = oldest + ((first - (oldest % r) + r) % r);
    let entry = this.countBetween(oldest, q - 1);
    for (let slot = first; slot < first + n; slot++) {
      let value = 0;
      if (q >= 0 && this.isSet(slot)) {
        const k = this.physical(entry++);
        value = part === 'sum' ? this.sumAt(k) : part === 'error' ? this.errorAt(k) : this.countAt(k);
      }
      if (part === 'count') at = out.writeUInt32LE(value, at);
      else at = out.writeDoubleLE(value, at);
      if (++q > m) {
        q = oldest;
        entry = 0;
      }
    }
  }

  /**
   * Rebuilds the ring from a dense one whose M is `max`: `pane(slot, out)`
   * reads a slot's sum, error and count. Room is made once, for the panes
   * that hold readings.
   */
  loadDense(max: number, pane: (slot: number, out: DensePane) => void): void {
    this.release();
    const r = this.size;
    this.max = max;
    if (r === 0 || max === Number.NEGATIVE_INFINITY) return;
    const slots: number[] = [];
    const read: DensePane = { sum: 0, error: 0, count: 0 };
    let wide = false;
    for (let q = Math.max(max - r + 1, 0); q <= max; q++) {
      pane(q % r, read);
      if (read.count > 0) slots.push(q % r);
      if (read.count > NARROW_COUNT_MAX) wide = true;
    }
    if (slots.length === 0) return;
    this.relocate(capacityFor(slots.length, r), wide);
    const slab = this.slab as Slab;
    for (const slot of slots) {
      pane(slot, read);
      const k = this.length++;
      slab.f64[this.sums + k] = read.sum;
      slab.f64[this.sums + this.capacity + k] = read.error;
      if (wide) slab.u32[this.counts + k] = read.count;
      else slab.u16[this.counts + k] = read.count;
      this.flip(slot);
    }
  }

  /** Gives the place back (the zone is gone, or the ring is emptied); the ring holds no pane after. */
  release(): void {
    if (this.pool !== null) this.pool.give(this.place);
    this.pool = null;
    this.slab = null;
    this.place = -1;
    this.capacity = 0;
    this.wide = false;
    this.head = 0;
    this.length = 0;
  }

  /** Drops the panes that leave the ring as M moves past them: every pane ≤ last. */
  private dropThrough(last: number): void {
    if (this.length === 0) return;
    const r = this.size;
    if (last >= this.max) {
      this.bitmapClear();
      this.head = 0;
      this.length = 0;
      return;
    }
    for (let q = Math.max(this.max - r + 1, 0); q <= last && this.length > 0; q++) {
      const slot = q % r;
      if (!this.isSet(slot)) continue;
      this.flip(slot);
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      this.length--;
    }
  }

  /** A new, empty entry for pane p at position `index` in pane order (the entries from there move up one); returns its physical index. */
  private insertAt(index: number, p: number): number {
    if (this.length === this.capacity) this.relocate(capacityFor(this.length + 1, this.size), this.wide);
    const slab = this.slab as Slab;
    const values = slab.f64;
    const capacity = this.capacity;
    for (let i = this.length; i > index; i--) {
      const to = this.physical(i);
      const from = this.physical(i - 1);
      values[this.sums + to] = values[this.sums + from] as number;
      values[this.sums + capacity + to] = values[this.sums + capacity + from] as number;
      this.setCount(to, this.countAt(from));
    }
    const k = this.physical(index);
    values[this.sums + k] = 0;
    values[this.sums + capacity + k] = 0;
    this.setCount(k, 0);
    this.length++;
    this.flip(p % this.size);
    return k;
  }

  private setCount(k: number, count: number): void {
    const slab = this.slab as Slab;
    if (this.wide) slab.u32[this.counts + k] = count;
    else slab.u16[this.counts + k] = count;
  }

  /** Moves the entries (oldest first, to index 0) and the bitmap to a place of `capacity` entries with narrow or wide counts. */
  private relocate(capacity: number, wide: boolean): void {
    const r = this.size;
    const words = Math.ceil(r / 32);
    const pool = slabPool(16 * capacity + 4 * words + (wide ? 4 : 2) * capacity);
    const place = pool.take();
    const slab = pool.slabOf(place);
    const offset = pool.offsetOf(place);
    const sums = offset >> 3;
    const bitmap = (offset + 16 * capacity) >> 2;
    const countsByte = offset + 16 * capacity + 4 * words;
    const counts = wide ? countsByte >> 2 : countsByte >> 1;
    if (this.slab !== null) {
      for (let i = 0; i < this.length; i++) {
        const k = this.physical(i);
        slab.f64[sums + i] = this.sumAt(k);
        slab.f64[sums + capacity + i] = this.errorAt(k);
        if (wide) slab.u32[counts + i] = this.countAt(k);
        else slab.u16[counts + i] = this.countAt(k);
      }
      slab.u32.set(this.slab.u32.subarray(this.bitmap, this.bitmap + words), bitmap);
    }
    const length = this.length;
    this.release();
    this.pool = pool;
    this.place = place;
    this.slab = slab;
    this.capacity = capacity;
    this.wide = wide;
    this.sums = sums;
    this.bitmap = bitmap;
    this.counts = counts;
    this.head = 0;
    this.length = length;
  }

  /** Physical index of the entry at position i in pane order. */
  private physical(i: number): number {
    const k = this.head + i;
    return k >= this.capacity ? k - this.capacity : k;
  }

  private isSet(slot: number): boolean {
    if (this.slab === null) return false;
    return ((this.slab.u32[this.bitmap + (slot >>> 5)] as number) & (1 << (slot & 31))) !== 0;
  }

  private flip(slot: number): void {
    const bits = (this.slab as Slab).u32;
    const word = this.bitmap + (slot >>> 5);
    bits[word] = (bits[word] as number) ^ (1 << (slot & 31));
  }

  private bitmapClear(): void {
    if (this.slab !== null) this.slab.u32.fill(0, this.bitmap, this.bitmap + Math.ceil(this.size / 32));
  }

  /** Occupied panes q with lo ≤ q ≤ hi (both in the ring, or hi < lo: none). */
  private countBetween(lo: number, hi: number): number {
    // Panes before 0 never hold a reading.
    let left = hi - Math.max(lo, 0) + 1;
    if (left <= 0 || this.length === 0) return 0;
    const r = this.size;
    let slot = Math.max(lo, 0) % r;
    let total = 0;
    while (left > 0) {
      const run = Math.min(left, r - slot);
      total += this.countSlots(slot, slot + run);
      left -= run;
      slot = 0;
    }
    return total;
  }

  /** Set bits of slots in [a, b), a < b ≤ R. */
  private countSlots(a: number, b: number): number {
    const base = this.bitmap;
    const bits = (this.slab as Slab).u32;
    const first = a >>> 5;
    const last = (b - 1) >>> 5;
    const low = ~0 << (a & 31);
    const high = lowBits(((b - 1) & 31) + 1);
    if (first === last) return popcount((bits[base + first] as number) & low & high);
    let total = popcount((bits[base + first] as number) & low);
    for (let w = first + 1; w < last; w++) total += popcount(bits[base + w] as number);
    return total + popcount((bits[base + last] as number) & high);
  }
}

/** One slot of a dense ring, as loadDense reads it. */
export interface DensePane {
  sum: number;
  error: number;
  count: number;
}

/**
 * The entries a place holds for `n` panes of a ring of R: one of a few sizes
 * (4, 8, 12, 16, then a quarter more each step, rounded to 4), so rings of
 * all sizes share few pools and a ring moves a few times as it fills.
 */
export function capacityFor(n: number, r: number): number {
  let capacity = 4;
  while (capacity < n) capacity = capacity < 16 ? capacity + 4 : capacity + Math.ceil(capacity / 16) * 4;
  return Math.min(capacity, r);
}

function lowBits(n: number): number {
  return n === 32 ? ~0 : (1 << n) - 1;
}

function popcount(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
