/**
 * The window_avg running totals (src/engine/span-totals.ts) against the scan
 * of the pane ring they replace (ZoneState.paneTotals): same count always,
 * the same sum to a few units in the last place, on random readings that run
 * out of order, arrive too late, jump past the ring and start near pane 0.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Totals } from '../../../src/engine/span-totals.js';
import { ZoneState } from '../../../src/engine/zone-state.js';
import { seededRandom } from '../../../src/io/generator/readings.js';

interface Step {
  pane: number;
  x: number;
}

/** A zone's readings as (pane, value): mostly advancing, some out of order or too late, some gaps. */
function randomSteps(seed: number, count: number, ring: number, startPane: number): Step[] {
  const random = seededRandom(seed);
  const base = [0, 20, -5, 1e6][seed % 4] as number;
  const steps: Step[] = [];
  let pane = startPane;
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.02) pane += ring + Math.floor(random() * ring);
    else if (roll < 0.5) pane += Math.floor(random() * 3);
    let at = pane;
    if (roll > 0.95) at -= Math.floor(random() * ring * 1.5);
    else if (roll > 0.85) at -= Math.floor(random() * 4);
    const x = random() < 0.1 ? base : Math.round((base + (random() - 0.5) * 20) * 1000) / 1000;
    steps.push({ pane: Math.max(0, at), x });
  }
  return steps;
}

function close(actual: Totals, expected: Totals, what: string): void {
  assert.equal(actual.count, expected.count, `${what}: count`);
  const scale = Math.max(Math.abs(expected.sum), 1e-300);
  assert.ok(Math.abs(actual.sum - expected.sum) <= 4e-15 * scale, `${what}: sum ${actual.sum} vs scan ${expected.sum}`);
}

describe('window_avg running totals', () => {
  test('agree with the scan of the ring before every reading, for every span kept', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (seed, ring, extra, nearZero) => {
          const spans = [...new Set([ring, Math.max(1, ring - extra), Math.max(1, Math.floor(ring / 2))])];
          const zone = new ZoneState({ historySize: 4, paneMs: 1_000, ringPanes: ring });
          zone.trackSpans(spans);
          const fast: Totals = { sum: 0, count: 0 };
          const scan: Totals = { sum: 0, count: 0 };
          randomSteps(seed, 400, ring, nearZero ? 0 : 1_000_000).forEach(({ pane, x }, i) => {
            for (const panes of spans) {
              zone.windowTotals(panes, pane, fast);
              zone.paneTotals(pane - panes + 1, pane, scan);
              close(fast, scan, `seed ${seed}, reading ${i} (pane ${pane}, M ${zone.maxPane}), span ${panes}`);
            }
            zone.addToPane(pane, x);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a zone restored or moved to another plan sums its spans afresh', () => {
    const zone = new ZoneState({ historySize: 4, paneMs: 1_000, ringPanes: 10 });
    for (let pane = 0; pane < 30; pane++) zone.addToPane(pane, pane % 7);
    const out: Totals = { sum: 0, count: 0 };
    zone.trackSpans([5]);
    zone.windowTotals(5, 29, out);
    // Panes 25..29 hold 4, 5, 6, 0, 1.
    assert.deepEqual(out, { sum: 16, count: 5 });
    zone.addToPane(30, 100);
    zone.windowTotals(5, 31, out);
    // Panes 27..31: 6, 0, 1, 100 and an empty one.
    assert.deepEqual(out, { sum: 6 + 0 + 1 + 100, count: 4 });
    zone.trackSpans([]);
    assert.equal(zone.spanTotals.length, 0);
  });

  test('windows that reach before pane 0 count only the panes that exist', () => {
    const zone = new ZoneState({ historySize: 4, paneMs: 1_000, ringPanes: 301 });
    zone.addToPane(0, 5);
    zone.addToPane(1, 7);
    const out: Totals = { sum: 0, count: 0 };
    zone.paneTotals(-298, 1, out);
    assert.deepEqual(out, { sum: 12, count: 2 });
    zone.paneTotals(-300, -300, out);
    assert.deepEqual(out, { sum: 0, count: 0 });
  });
});
