/**
 * The sparse pane ring (src/engine/pane-ring.ts) against the dense ring it
 * replaces (one slot per pane p mod R: sum, Neumaier error, count): the same
 * readings accepted and refused, the same totals bit for bit over any range,
 * the same dense image slot for slot, and the same again after a ring is
 * rebuilt from that image.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { roundingError } from '../../../src/engine/numerics.js';
import { type DensePane, PaneRing } from '../../../src/engine/pane-ring.js';

/** The dense ring as the engine kept it before (zone-state.ts at e6acbfe). */
class DenseRing {
  max = Number.NEGATIVE_INFINITY;
  readonly sum: Float64Array;
  readonly error: Float64Array;
  readonly count: Uint32Array;

  constructor(readonly size: number) {
    this.sum = new Float64Array(size);
    this.error = new Float64Array(size);
    this.count = new Uint32Array(size);
  }

  add(p: number, x: number): boolean {
    const r = this.size;
    const m = this.max;
    if (p > m) {
      if (m !== Number.NEGATIVE_INFINITY) {
        for (let q = m + 1; q <= Math.min(p, m + r); q++) {
          this.sum[q % r] = 0;
          this.error[q % r] = 0;
          this.count[q % r] = 0;
        }
      }
      this.max = p;
    } else if (p <= m - r) {
      return false;
    }
    const slot = p % r;
    const sum = this.sum[slot] as number;
    const next = sum + x;
    this.error[slot] = (this.error[slot] as number) + roundingError(sum, x, next);
    this.sum[slot] = next;
    this.count[slot] = (this.count[slot] as number) + 1;
    return true;
  }

  totals(from: number, to: number, out: { sum: number; count: number }): void {
    const r = this.size;
    const lo = Math.max(from, this.max - r + 1, 0);
    const hi = Math.min(to, this.max);
    let sum = 0;
    let error = 0;
    let count = 0;
    for (let q = lo; q <= hi; q++) {
      const x = this.sum[q % r] as number;
      const next = sum + x;
      error += (this.error[q % r] as number) + roundingError(sum, x, next);
      sum = next;
      count += this.count[q % r] as number;
    }
    out.sum = sum + error;
    out.count = count;
  }

  /** The dense image of the ring: sums, errors, counts (what zone-image.ts stores). */
  image(): Buffer {
    const out = Buffer.alloc(20 * this.size);
    for (let s = 0; s < this.size; s++) {
      out.writeDoubleLE(this.sum[s] as number, 8 * s);
      out.writeDoubleLE(this.error[s] as number, 8 * (this.size + s));
      out.writeUInt32LE(this.count[s] as number, 16 * this.size + 4 * s);
    }
    return out;
  }
}

function sparseImage(ring: PaneRing): Buffer {
  const r = ring.size;
  const out = Buffer.alloc(20 * r);
  // In two pieces per part, as changedRanges asks for runs of slots.
  const half = Math.floor(r / 2);
  ring.writeDense('sum', 0, half, out, 0);
  ring.writeDense('sum', half, r - half, out, 8 * half);
  ring.writeDense('error', 0, r, out, 8 * r);
  ring.writeDense('count', 0, half, out, 16 * r);
  ring.writeDense('count', half, r - half, out, 16 * r + 4 * half);
  return out;
}

function loaded(image: Buffer, r: number, max: number): PaneRing {
  const ring = new PaneRing(r);
  ring.loadDense(max, (slot: number, out: DensePane) => {
    out.sum = image.readDoubleLE(8 * slot);
    out.error = image.readDoubleLE(8 * (r + slot));
    out.count = image.readUInt32LE(16 * r + 4 * slot);
  });
  return ring;
}

/** Readings as (pane step, value): mostly advancing, some late, some far too late, some jumps past the ring. */
const step = fc.record({
  move: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) },
    { weight: 2, arbitrary: fc.integer({ min: -40, max: -1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 4, max: 400 }) },
  ),
  x: fc.oneof(
    fc.integer({ min: 5_000, max: 9_000 }).map((k) => k / 100),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.constant(0.1),
  ),
});

describe('PaneRing (sparse) against the dense ring', () => {
  test('same accepted readings, totals bit for bit, dense image slot for slot, and after a reload', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 500 }), fc.array(step, { maxLength: 400 }), (r, start, steps) => {
        const sparse = new PaneRing(r);
        const dense = new DenseRing(r);
        let pane = start;
        const a = { sum: 0, count: 0 };
        const b = { sum: 0, count: 0 };
        for (const { move, x } of steps) {
          pane = Math.max(0, pane + move);
          const at = pane;
          assert.equal(sparse.add(at, x), dense.add(at, x), `reading in pane ${at}`);
          if (move < 0) pane -= move;
          const from = Math.max(0, sparse.max - Math.floor(r * 1.2));
          const lo = from + ((at * 7) % (r + 3));
          sparse.totals(lo, lo + (at % (r + 2)), a);
          dense.totals(lo, lo + (at % (r + 2)), b);
          assert.ok(Object.is(a.sum, b.sum) && a.count === b.count, `totals over [${lo}, ${lo + (at % (r + 2))}]`);
        }
        assert.equal(sparse.max, dense.max);
        const image = sparseImage(sparse);
        assert.deepEqual(image, dense.image());
        const reloaded = loaded(image, r, dense.max);
        assert.deepEqual(sparseImage(reloaded), image);
        for (let q = Math.max(0, dense.max - r); q <= dense.max; q++) {
          reloaded.totals(q - 3, q, a);
          dense.totals(q - 3, q, b);
          assert.ok(Object.is(a.sum, b.sum) && a.count === b.count, `reloaded totals at ${q}`);
          const k = sparse.entry(q);
          const slot = q % r;
          assert.equal(k < 0, q <= dense.max - r || dense.count[slot] === 0, `entry of pane ${q}`);
          if (k >= 0) assert.ok(Object.is(sparse.sumAt(k), dense.sum[slot]) && sparse.countAt(k) === dense.count[slot]);
        }
        sparse.release();
        reloaded.release();
      }),
      { numRuns: 300 },
    );
  });

  test('a pane past 255 and then 65,535 readings moves the ring to 2-byte, then 4-byte counts, and keeps every pane', () => {
    const ring = new PaneRing(10);
    const dense = new DenseRing(10);
    for (let p = 0; p < 10; p++) {
      ring.add(p, p + 0.5);
      dense.add(p, p + 0.5);
    }
    const sizes = [ring.bytes];
    for (let i = 0; i < 70_000; i++) {
      ring.add(4, 0.01);
      dense.add(4, 0.01);
      if (i === 300) sizes.push(ring.bytes);
    }
    sizes.push(ring.bytes);
    assert.ok((sizes[0] as number) < (sizes[1] as number) && (sizes[1] as number) < (sizes[2] as number), `place sizes ${sizes.join(', ')}`);
    const a = { sum: 0, count: 0 };
    const b = { sum: 0, count: 0 };
    for (let q = 0; q < 10; q++) {
      ring.totals(q, q, a);
      dense.totals(q, q, b);
      assert.ok(Object.is(a.sum, b.sum) && a.count === b.count, `pane ${q}`);
    }
    assert.equal(a.count, 1);
    ring.totals(4, 4, a);
    assert.equal(a.count, 70_001);
    assert.deepEqual(sparseImage(ring), dense.image());
    assert.deepEqual(sparseImage(loaded(dense.image(), 10, 9)), dense.image());
  });

  test('errors a float32 does not hold move the ring to float64 errors, every pane kept bit for bit', () => {
    const ring = new PaneRing(20);
    const dense = new DenseRing(20);
    for (let p = 0; p < 20; p++) {
      for (const x of [70.53, 70.21, 69.98]) {
        ring.add(p, x + p);
        dense.add(p, x + p);
      }
    }
    ring.add(20, 70.5);
    dense.add(20, 70.5);
    const narrow = ring.bytes;
    // 70.5 + 1e-30 rounds to 70.5: the error is 1e-30, which a float32 rounds.
    ring.add(20, 1e-30);
    dense.add(20, 1e-30);
    assert.ok(ring.bytes > narrow, `${ring.bytes} bytes after a wide error, ${narrow} before`);
    const a = { sum: 0, count: 0 };
    const b = { sum: 0, count: 0 };
    for (let q = 1; q <= 20; q++) {
      ring.totals(1, q, a);
      dense.totals(1, q, b);
      assert.ok(Object.is(a.sum, b.sum) && a.count === b.count, `panes 1..${q}`);
    }
    assert.deepEqual(sparseImage(ring), dense.image());
    assert.deepEqual(sparseImage(loaded(dense.image(), 20, 20)), dense.image());
  });

  test('only panes that hold readings take room, and a released ring gives its place back', () => {
    const ring = new PaneRing(301);
    for (let p = 0; p < 301; p += 3) ring.add(p, 70.25);
    assert.equal(ring.occupied, 101);
    // 13 bytes a pane, room for an eighth more at most, and the bitmap (a dense ring: 20 × 301 = 6,020).
    assert.ok(ring.bytes <= 13 * Math.ceil(1.125 * 101) + 40, `${ring.bytes} bytes for 101 panes`);
    ring.release();
    assert.equal(ring.bytes, 0);
    assert.equal(ring.occupied, 0);
  });
});
