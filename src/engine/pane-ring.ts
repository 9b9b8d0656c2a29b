import { roundingError } from './numerics.js';
import type { Slab, SlabPool } from './slab.js';
import { slabPool } from './slab.js';

/** The largest count a pane's count field holds, by its log2 bytes: a ring moves to wider counts when one would pass it. */
const COUNT_MAX = [0xff, 0xffff, 0xffffffff] as const;

/**
 * A zone's panes (contract §2): for the R most recent pane indices
 * (M − R, M], each pane's sum, the sum's rounding error (Neumaier) and its
 * count. Kept sparse: only panes that hold a reading take room, in pane
 * order in a circular list, with a bitmap of the ring slots (p mod R) they
 * occupy. At scale a zone reads every second or few and many of its panes
 * are empty (zone-templates.ts: ~160 of 301 at 200,000 zones, ~80 at
 * 500,000); a zone that fills every pane costs less than a dense ring.
 *
 * A pane takes 13 bytes: its sum (float64), its error as a float32 and its
 * count in 1 byte. Both narrow forms hold the values exactly or are not
 * used: a pane of one reading has an error of exactly 0, and a few readings
 * of like magnitude leave an error of a few bits, which a float32 holds;
 * the ring moves to float64 errors at the first error a float32 does not
 * hold, and to 2-byte (then 4-byte) counts at the first count past 255
 * (65,535). The room is a place in a shared slab (slab.ts), of one of a
 * few dozen sizes, taken anew when the ring outgrows it; release() gives
 * it back.
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
  /** Bytes of a count, as log2: 0, 1 or 2. */
  private countShift = 0;
  /** Errors as float64 (else float32). */
  private wideErrors = false;
  private pool: SlabPool | null = null;
  private place = -1;
  private slab: Slab | null = null;
  /** Indexes of the place's parts in the slab's views: sums (f64), errors (f32 or f64), bitmap (u32), counts (u8, u16 or u32). */
  private sums = 0;
  private errors = 0;
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
    } else if (p === m && this.isSet(p % r)) {
      // The newest pane, as for most readings (in time order): the last entry, with no count over the bitmap.
      k = this.physical(this.length - 1);
    } else if (p <= m - r) {
      return false;
    } else if (this.isSet(p % r)) {
      k = this.physical(this.countBetween(m - r + 1, p - 1));
    } else {
      // A late reading in an empty pane: it goes between its neighbours (rare).
      k = this.insertAt(this.countBetween(m - r + 1, p - 1), p);
    }
    const sum = this.sumAt(k);
    const next = sum + x;
    const error = this.errorAt(k) + roundingError(sum, x, next);
    const count = this.countAt(k) + 1;
    const widerErrors = !this.wideErrors && Math.fround(error) !== error;
    const widerCounts = count > (COUNT_MAX[this.countShift as 0 | 1 | 2] as number);
    if (widerErrors || widerCounts) {
      // Relocated, the entries start at index 0, oldest first.
      const i = k >= this.head ? k - this.head : k + this.capacity - this.head;
      this.relocate(this.capacity, this.countShift + (widerCounts ? 1 : 0), this.wideErrors || widerErrors);
      k = i;
    }
    this.write(k, next, error, count);
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
    const slab = this.slab as Slab;
    return (this.wideErrors ? slab.f64[this.errors + k] : slab.f32[this.errors + k]) as number;
  }

  countAt(k: number): number {
    const slab = this.slab as Slab;
    const shift = this.countShift;
    return (shift === 0 ? slab.u8[this.counts + k] : shift === 1 ? slab.u16[this.counts + k] : slab.u32[this.counts + k]) as number;
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
      // Every entry is in (M − R, M]: a span ending at M starts n entries before the end.
      let k = this.physical(hi === m ? this.length - n : this.countBetween(m - r + 1, lo - 1));
      for (let i = 0; i < n; i++) {
        const x = this.sumAt(k);
        const next = sum + x;
        error += this.errorAt(k) + roundingError(sum, x, next);
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
   * that hold readings, in the narrowest forms that hold them.
   */
  loadDense(max: number, pane: (slot: number, out: DensePane) => void): void {
    this.release();
    const r = this.size;
    this.max = max;
    if (r === 0 || max === Number.NEGATIVE_INFINITY) return;
    const slots: number[] = [];
    const read: DensePane = { sum: 0, error: 0, count: 0 };
    let countShift = 0;
    let wideErrors = false;
    for (let q = Math.max(max - r + 1, 0); q <= max; q++) {
      pane(q % r, read);
      if (read.count === 0) continue;
      slots.push(q % r);
      while (read.count > (COUNT_MAX[countShift as 0 | 1 | 2] as number)) countShift++;
      if (Math.fround(read.error) !== read.error) wideErrors = true;
    }
    if (slots.length === 0) return;
    this.relocate(capacityFor(slots.length, r), countShift, wideErrors);
    for (const slot of slots) {
      pane(slot, read);
      this.write(this.length++, read.sum, read.error, read.count);
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
    this.countShift = 0;
    this.wideErrors = false;
    this.head = 0;
    this.length = 0;
  }

  /** Writes entry k (the forms must hold the values: add and loadDense widen them first). */
  private write(k: number, sum: number, error: number, count: number): void {
    const slab = this.slab as Slab;
    slab.f64[this.sums + k] = sum;
    if (this.wideErrors) slab.f64[this.errors + k] = error;
    else slab.f32[this.errors + k] = error;
    const shift = this.countShift;
    if (shift === 0) slab.u8[this.counts + k] = count;
    else if (shift === 1) slab.u16[this.counts + k] = count;
    else slab.u32[this.counts + k] = count;
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
    if (this.length === this.capacity) this.relocate(capacityFor(this.length + 1, this.size), this.countShift, this.wideErrors);
    for (let i = this.length; i > index; i--) {
      const from = this.physical(i - 1);
      this.write(this.physical(i), this.sumAt(from), this.errorAt(from), this.countAt(from));
    }
    const k = this.physical(index);
    this.write(k, 0, 0, 0);
    this.length++;
    this.flip(p % this.size);
    return k;
  }

  /** Moves the entries (oldest first, to index 0) and the bitmap to a place of `capacity` entries in these forms. */
  private relocate(capacity: number, countShift: number, wideErrors: boolean): void {
    const words = Math.ceil(this.size / 32);
    const errorBytes = wideErrors ? 8 : 4;
    const pool = slabPool((8 + errorBytes) * capacity + 4 * words + (capacity << countShift));
    const place = pool.take();
    const offset = pool.offsetOf(place);
    // Capacities are multiples of 8: every part starts aligned for its element size.
    // The ring as it was, to read the old place through the same accessors (a relocation is rare: growth or widening).
    const old = Object.assign(new PaneRing(this.size), this);
    this.pool = pool;
    this.place = place;
    this.slab = pool.slabOf(place);
    this.capacity = capacity;
    this.countShift = countShift;
    this.wideErrors = wideErrors;
    this.sums = offset >> 3;
    this.errors = (offset + 8 * capacity) / errorBytes;
    this.bitmap = (offset + (8 + errorBytes) * capacity) >> 2;
    this.counts = (offset + (8 + errorBytes) * capacity + 4 * words) >> countShift;
    this.head = 0;
    if (old.slab !== null) {
      for (let i = 0; i < old.length; i++) {
        const k = old.physical(i);
        this.write(i, old.sumAt(k), old.errorAt(k), old.countAt(k));
      }
      this.slab.u32.set(old.slab.u32.subarray(old.bitmap, old.bitmap + words), this.bitmap);
      old.release();
    }
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
 * The entries a place holds for `n` panes of a ring of R: one of a few
 * dozen sizes (8, 16, … 64, then an eighth more each step, rounded down to 8),
 * so rings of all sizes share few pools, a ring moves a few dozen times as it
 * fills, and a place is at most an eighth larger than its panes need
 * (a quarter: ~300 bytes more per zone at 200,000 zones, measured).
 */
export function capacityFor(n: number, r: number): number {
  let capacity = 8;
  while (capacity < n) capacity += Math.max(8, Math.floor(capacity / 64) * 8);
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
