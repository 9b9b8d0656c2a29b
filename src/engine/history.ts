import type { Slab, SlabPool } from './slab.js';
import { slabPool } from './slab.js';

/** How the values are held: integers over 10^digits in 2 or 4 bytes, or the doubles themselves. */
const INT16 = 0;
const INT32 = 1;
const FLOAT64 = 2;
const ELEMENT_BYTES = [2, 4, 8] as const;
const LIMITS = [0x7fff, 0x7fffffff, Number.POSITIVE_INFINITY] as const;
/** Decimal places tried: beyond 9, int32 holds no value above 2. */
const MAX_DIGITS = 9;
/** Slots of a history's first place; each next place holds 4 times more, up to W. */
const FIRST_CAPACITY = 8;

/**
 * A zone's last W values (its history ring's slots), exactly as they were
 * read, in a quarter or half of a Float64Array's bytes when it can: readings
 * are decimals (70.53), and while every value held is an integer k over
 * 10^d, they are kept as those integers, in 2 bytes each while │k│ < 2^15,
 * else 4 while │k│ < 2^31. k / 10^d is the same double bit for bit: dividing
 * exact integers rounds correctly to the double nearest the decimal, as
 * parsing it did, and a value is only kept this way after that is checked.
 * From the first value that is not such a decimal (or is −0), the history
 * holds doubles.
 *
 * Slots are written in order until the ring first fills (the zone's count
 * is below W exactly while head = count), so a history takes room as it
 * fills: 8 slots, then 32, 128, … up to W. Slots never written read 0, as
 * in a dense ring. The place is in a shared slab (slab.ts): release() gives
 * it back when the zone goes.
 */
export class History {
  private kind = INT16;
  private digits = 0;
  private scale = 1;
  /** Slots of the current place (0: none yet). */
  private capacity = 0;
  private pool: SlabPool | null = null;
  private place = -1;
  private slab: Slab | null = null;
  /** Index of slot 0 in the slab's view of the current kind. */
  private base = 0;

  constructor(readonly size: number) {}

  /** Bytes this history's place takes. */
  get bytes(): number {
    return this.pool === null ? 0 : this.pool.placeBytes;
  }

  /** 2, 4 or 8: bytes per value as held now. */
  get bytesPerValue(): number {
    return ELEMENT_BYTES[this.kind as 0 | 1 | 2];
  }

  at(i: number): number {
    if (i >= this.capacity) return 0;
    const slab = this.slab as Slab;
    if (this.kind === INT16) return (slab.i16[this.base + i] as number) / this.scale;
    if (this.kind === INT32) return (slab.i32[this.base + i] as number) / this.scale;
    return slab.f64[this.base + i] as number;
  }

  set(i: number, x: number): void {
    if (i >= this.capacity) this.reserve(i + 1);
    const slab = this.slab as Slab;
    if (this.kind === FLOAT64) {
      slab.f64[this.base + i] = x;
      return;
    }
    const k = decimalOf(x, this.scale);
    if (k !== undefined && Math.abs(k) <= LIMITS[this.kind as 0 | 1]) {
      if (this.kind === INT16) slab.i16[this.base + i] = k;
      else slab.i32[this.base + i] = k;
      return;
    }
    this.refit(x);
    this.set(i, x);
  }

  /** Room for slots [0, n) (restores make it once, for the count they hold). */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    let capacity = this.capacity === 0 ? FIRST_CAPACITY : this.capacity;
    while (capacity < n) capacity *= 4;
    this.move(Math.min(capacity, this.size), this.kind, this.digits);
  }

  /** Gives the place back (the zone is gone); the history reads as empty after. */
  release(): void {
    if (this.pool !== null) this.pool.give(this.place);
    this.pool = null;
    this.slab = null;
    this.place = -1;
    this.capacity = 0;
  }

  /** The fewest digits (at least the current ones) and the narrowest kind that hold x and every value held. */
  private refit(x: number): void {
    for (let digits = this.digits; digits <= MAX_DIGITS; digits++) {
      const k = decimalOf(x, 10 ** digits);
      if (k === undefined) continue;
      const factor = 10 ** (digits - this.digits);
      const largest = Math.max(Math.abs(k), this.largest() * factor);
      const kind = largest <= LIMITS[INT16] && this.kind === INT16 ? INT16 : largest <= LIMITS[INT32] ? INT32 : FLOAT64;
      this.move(this.capacity, kind, kind === FLOAT64 ? 0 : digits);
      return;
    }
    this.move(this.capacity, FLOAT64, 0);
  }

  /** The largest │k│ held (compact kinds only). */
  private largest(): number {
    const slab = this.slab as Slab;
    const view = this.kind === INT16 ? slab.i16 : slab.i32;
    let largest = 0;
    for (let i = this.base; i < this.base + this.capacity; i++) largest = Math.max(largest, Math.abs(view[i] as number));
    return largest;
  }

  /** Moves the values to a place of `capacity` slots holding `kind` at `digits`: integers are multiplied exactly, doubles copied. */
  private move(capacity: number, kind: number, digits: number): void {
    const pool = slabPool(capacity * ELEMENT_BYTES[kind as 0 | 1 | 2]);
    const place = pool.take();
    const slab = pool.slabOf(place);
    const base = pool.offsetOf(place) / ELEMENT_BYTES[kind as 0 | 1 | 2];
    if (this.slab !== null) {
      const old = this.slab;
      const factor = 10 ** (digits - this.digits);
      for (let i = 0; i < this.capacity; i++) {
        if (kind === FLOAT64) {
          slab.f64[base + i] = this.at(i);
        } else {
          const k = (this.kind === INT16 ? (old.i16[this.base + i] as number) : (old.i32[this.base + i] as number)) * factor;
          if (kind === INT16) slab.i16[base + i] = k;
          else slab.i32[base + i] = k;
        }
      }
    }
    this.release();
    this.pool = pool;
    this.place = place;
    this.slab = slab;
    this.base = base;
    this.capacity = capacity;
    this.kind = kind;
    this.digits = digits;
    this.scale = 10 ** digits;
  }
}

/** k with k / scale === x bit for bit and k an integer of at most 31 bits, or undefined (−0 has no such k: 0 / scale is +0). */
function decimalOf(x: number, scale: number): number | undefined {
  const k = Math.round(x * scale);
  if (k / scale !== x || Math.abs(k) > LIMITS[INT32] || (x === 0 && 1 / x < 0)) return undefined;
  return k;
}
