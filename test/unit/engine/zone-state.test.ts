import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Moments, ZoneState } from '../../../src/engine/zone-state.js';
import { seededRandom } from '../../../src/io/generator/readings.js';
import type { WindowPlan } from '../../../src/model/plan.js';

function historyPlan(size: number): WindowPlan {
  return { historySize: size, paneMs: 1_000, ringPanes: 0 };
}

/** A window with a pane ring of `panes` panes. */
function panePlan(panes: number, paneMs = 1_000): WindowPlan {
  return { historySize: 10, paneMs, ringPanes: panes };
}

/** Two-pass mean and population std, on values offset by `origin` (exact for values near it). */
function reference(values: readonly number[], origin: number): Moments {
  const d = values.map((x) => x - origin);
  const meanD = d.reduce((s, x) => s + x, 0) / d.length;
  const variance = d.reduce((s, x) => s + (x - meanD) ** 2, 0) / d.length;
  return { mean: origin + meanD, std: Math.sqrt(variance) };
}

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe('ZoneState history moments', () => {
  test('small window: mean and population std of the last W values', () => {
    const state = new ZoneState(historyPlan(4));
    const out: Moments = { mean: Number.NaN, std: Number.NaN };
    for (const x of [100, 2, 4, 4, 4, 5, 5, 7, 9]) state.addToHistory(x);
    // History holds the last 4: 5, 5, 7, 9 → mean 6.5, variance (2.25+2.25+0.25+6.25)/4 = 2.75.
    assert.equal(state.count, 4);
    state.moments(out);
    assert.ok(Math.abs(out.mean - 6.5) < 1e-12, `mean ${out.mean}`);
    assert.ok(Math.abs(out.std - Math.sqrt(2.75)) < 1e-12, `std ${out.std}`);
    state.exactMoments(out);
    assert.equal(out.mean, 6.5);
    assert.equal(out.std, Math.sqrt(2.75));
  });

  test('a constant history has std exactly 0', () => {
    const state = new ZoneState(historyPlan(50));
    const out: Moments = { mean: 0, std: 1 };
    for (let i = 0; i < 20; i++) state.addToHistory(3);
    for (let i = 0; i < 200; i++) state.addToHistory(1e6 + 0.1);
    state.moments(out);
    assert.equal(out.mean, 1e6 + 0.1);
    assert.equal(out.std, 0);
  });

  test('stays within 1e-9 relative of a two-pass computation after 100,000 additions near 1e6', () => {
    const w = 500;
    const state = new ZoneState(historyPlan(w));
    const random = seededRandom(7);
    const window: number[] = [];
    const out: Moments = { mean: 0, std: 0 };
    let checks = 0;
    let worstNaive = 0;
    for (let i = 1; i <= 100_000; i++) {
      const x = 1e6 + random() * 1e-3;
      state.addToHistory(x);
      window.push(x);
      if (window.length > w) window.shift();
      // Check at points that are not multiples of W, where no recompute has just happened.
      if (i % 9_973 === 0 || i === 100_000 || i === 123) {
        const expected = reference(window, 1e6);
        state.moments(out);
        assert.ok(out.std > 0, `std is ${out.std} after ${i} additions`);
        assert.ok(relativeError(out.mean, expected.mean) <= 1e-9, `mean ${out.mean} vs ${expected.mean} after ${i}`);
        assert.ok(relativeError(out.std, expected.std) <= 1e-9, `std ${out.std} vs ${expected.std} after ${i}`);
        state.exactMoments(out);
        assert.ok(relativeError(out.std, expected.std) <= 1e-9, `exact std ${out.std} vs ${expected.std} after ${i}`);
        // The naive one-pass formula on raw values cannot meet this bar: the test has teeth.
        const n = window.length;
        const s = window.reduce((a, v) => a + v, 0);
        const sq = window.reduce((a, v) => a + v * v, 0);
        const naive = Math.sqrt(Math.max(0, sq / n - (s / n) ** 2));
        worstNaive = Math.max(worstNaive, relativeError(naive, expected.std));
        checks++;
      }
    }
    assert.ok(checks >= 11);
    assert.ok(worstNaive > 1e-9, `naive formula error ${worstNaive}`);
  });

  test('a level drifting far from where it started stays within 1e-9 relative', () => {
    // The zone's first value is long gone from the window: sums must be re-centred as it moves.
    const w = 500;
    const state = new ZoneState(historyPlan(w));
    const random = seededRandom(3);
    const window: number[] = [];
    const out: Moments = { mean: 0, std: 0 };
    for (let i = 1; i <= 100_000; i++) {
      const x = 1e6 + i * 0.05 + random();
      state.addToHistory(x);
      window.push(x);
      if (window.length > w) window.shift();
      if (i % 9_973 === 0) {
        const expected = reference(window, window[0] as number);
        state.moments(out);
        assert.ok(relativeError(out.mean, expected.mean) <= 1e-9, `mean ${out.mean} vs ${expected.mean} after ${i}`);
        assert.ok(relativeError(out.std, expected.std) <= 1e-9, `std ${out.std} vs ${expected.std} after ${i}`);
      }
    }
  });

  test('a jump to a far level keeps the std of the new level exact', () => {
    const w = 100;
    const state = new ZoneState(historyPlan(w));
    const random = seededRandom(11);
    const values: number[] = [];
    const out: Moments = { mean: 0, std: 0 };
    for (let i = 0; i < 130; i++) values.push(random() * 10);
    for (let i = 0; i < 70; i++) values.push(5e8 + random() * 1e-2);
    for (const x of values) state.addToHistory(x);
    const last = values.slice(-w);
    const expected = reference(last, 0);
    state.moments(out);
    assert.ok(relativeError(out.mean, expected.mean) <= 1e-12);
    assert.ok(relativeError(out.std, expected.std) <= 1e-9, `${out.std} vs ${expected.std}`);
  });
});

describe('ZoneState pane ring', () => {
  test('a too-late reading (pane ≤ M − R) is not added; available older panes are', () => {
    const state = new ZoneState(panePlan(5));
    const totals = { sum: 0, count: 0 };
    assert.ok(state.isAvailable(-1_000), 'every pane is available before the first reading');
    assert.equal(state.addToPane(10, 1), true);
    assert.equal(state.maxPane, 10);
    assert.equal(state.addToPane(6, 2), true, 'pane 6 = M − R + 1 is still in the ring');
    assert.equal(state.addToPane(8, 4), true);
    assert.equal(state.isAvailable(6), true);
    assert.equal(state.isAvailable(5), false);
    assert.equal(state.addToPane(5, 100), false, 'pane 5 = M − R is too late');
    assert.equal(state.addToPane(-3, 100), false);
    assert.equal(state.maxPane, 10, 'late readings do not move M');
    state.paneTotals(0, 10, totals);
    assert.deepEqual(totals, { sum: 7, count: 3 });
    state.paneTotals(7, 9, totals);
    assert.deepEqual(totals, { sum: 4, count: 1 });
  });

  test('advancing M by less than R recycles only the panes that fell out', () => {
    const state = new ZoneState(panePlan(5));
    const totals = { sum: 0, count: 0 };
    for (let p = 6; p <= 10; p++) state.addToPane(p, p);
    state.addToPane(12, 100); // panes 6 and 7 leave the ring; their slots hold 11 and 12 now.
    assert.equal(state.maxPane, 12);
    state.paneTotals(8, 12, totals);
    assert.deepEqual(totals, { sum: 8 + 9 + 10 + 100, count: 4 });
    state.paneTotals(11, 11, totals);
    assert.deepEqual(totals, { sum: 0, count: 0 }, 'the recycled slot of pane 6 is empty for pane 11');
    state.paneTotals(6, 7, totals);
    assert.deepEqual(totals, { sum: 0, count: 0 });
    assert.equal(state.addToPane(7, 1), false);
  });

  test('advancing M by more than R clears every old pane', () => {
    const state = new ZoneState(panePlan(5));
    const totals = { sum: 0, count: 0 };
    for (let p = 0; p <= 9; p++) {
      state.addToPane(p, 1);
      state.addToPane(p, 2);
    }
    state.addToPane(9 + 5 + 3, 7);
    state.paneTotals(0, 9, totals);
    assert.equal(totals.count, 0);
    state.paneTotals(-100, 1_000, totals);
    assert.deepEqual(totals, { sum: 7, count: 1 });
    // Every pane of the ring, including those not cleared by a reading, is empty.
    assert.equal(state.panes.occupied, 1);
  });

  test('pane sums are compensated: ten 0.1s sum to exactly 1', () => {
    const state = new ZoneState(panePlan(3));
    const totals = { sum: 0, count: 0 };
    for (let i = 0; i < 10; i++) state.addToPane(4, 0.1);
    state.paneTotals(4, 4, totals);
    assert.equal(totals.count, 10);
    assert.equal(totals.sum, 1);
    assert.notEqual(
      [...Array(10)].reduce((s: number) => s + 0.1, 0),
      1,
      'a plain sum would not be exact',
    );
  });

  test('with no time rules there is no ring and addToPane always succeeds', () => {
    const state = new ZoneState(historyPlan(3));
    assert.equal(state.panes.size, 0);
    assert.equal(state.addToPane(5, 1), true);
    assert.equal(state.addToPane(-5, 1), true);
  });
});
