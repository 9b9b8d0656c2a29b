import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Rule } from '../../../src/config/types.js';
import { paneOf, planRules } from '../../../src/engine/plan.js';
import { Direction, RuleKind } from '../../../src/model/plan.js';

function exactPane(t: number, g: number): number {
  return Number(BigInt(t) / BigInt(g));
}

describe('paneOf', () => {
  test('is exact at pane boundaries', () => {
    assert.equal(paneOf(0, 1_000), 0);
    assert.equal(paneOf(999, 1_000), 0);
    assert.equal(paneOf(1_000, 1_000), 1);
    assert.equal(paneOf(1_999, 1_000), 1);
    assert.equal(paneOf(2_000, 1_000), 2);
    assert.equal(paneOf(1_760_000_040_000, 60_000), 29_333_334);
    assert.equal(paneOf(1_760_000_039_999, 60_000), 29_333_333);
  });

  test('floor(t / g) for the largest safe timestamps', () => {
    const max = Number.MAX_SAFE_INTEGER;
    for (const g of [1, 2, 3, 7, 1_000, 1_001, 60_000, 86_400_000]) {
      // The last 64 safe integers, and both sides of the last few pane boundaries below them.
      const last = BigInt(max) / BigInt(g);
      const boundaries = [0n, 1n, 2n, 3n].map((k) => (last - k) * BigInt(g));
      const times = [...Array.from({ length: 64 }, (_, k) => max - k), ...boundaries.flatMap((b) => [Number(b) - 1, Number(b), Number(b) + 1])].filter(
        (t) => t >= 0 && t <= max,
      );
      for (const t of times) {
        const p = paneOf(t, g);
        assert.ok(Number.isSafeInteger(p), `paneOf(${t}, ${g}) = ${p}`);
        assert.ok(BigInt(p) * BigInt(g) <= BigInt(t), `paneOf(${t}, ${g}) = ${p} is too big`);
        assert.ok(BigInt(t) < (BigInt(p) + 1n) * BigInt(g), `paneOf(${t}, ${g}) = ${p} is too small`);
        assert.equal(p, exactPane(t, g));
      }
    }
  });

  test('property: equals integer division for any safe timestamp and pane width', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 2 ** 52, max: Number.MAX_SAFE_INTEGER })),
        fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 3_600_000 })),
        (t, g) => paneOf(t, g) === exactPane(t, g),
      ),
      { numRuns: 5_000 },
    );
  });
});

describe('planRules', () => {
  const rules: Rule[] = [
    { id: 'hot', type: 'threshold', mode: 'edge', above: 90 },
    { id: 'cold', type: 'threshold', mode: 'every', below: -10 },
    { id: 'z', type: 'zscore', mode: 'edge', k: 3, minSamples: 0 },
    {
      id: 'avg',
      type: 'window_avg',
      mode: 'edge',
      spanMs: 300_000,
      abovePct: 5,
      minSamples: 0,
    },
    {
      id: 'roc',
      type: 'rate_of_change',
      mode: 'every',
      lagMs: 60_000,
      pct: 10,
      direction: 'both',
    },
  ];

  test('turns durations into pane counts and fills open threshold bounds', () => {
    const plan = planRules({ window: { size: 500, paneMs: 10_000 }, rules });
    assert.equal(plan.historySize, 500);
    assert.equal(plan.paneMs, 10_000);
    assert.deepEqual(plan.rules[0], {
      kind: RuleKind.threshold,
      id: 'hot',
      type: 'threshold',
      every: false,
      above: 90,
      below: Number.NEGATIVE_INFINITY,
    });
    assert.deepEqual(plan.rules[1], {
      kind: RuleKind.threshold,
      id: 'cold',
      type: 'threshold',
      every: true,
      above: Number.POSITIVE_INFINITY,
      below: -10,
    });
    assert.deepEqual(plan.rules[2], {
      kind: RuleKind.zscore,
      id: 'z',
      type: 'zscore',
      every: false,
      k: 3,
      minSamples: 1,
    });
    assert.deepEqual(plan.rules[3], {
      kind: RuleKind.windowAvg,
      id: 'avg',
      type: 'window_avg',
      every: false,
      panes: 30,
      abovePct: 5,
      minSamples: 1,
    });
    assert.deepEqual(plan.rules[4], {
      kind: RuleKind.rateOfChange,
      id: 'roc',
      type: 'rate_of_change',
      every: true,
      lagPanes: 6,
      pct: 10,
      direction: Direction.both,
    });
    // R = max(P, L + 1) = max(30, 7).
    assert.equal(plan.ringPanes, 30);
  });

  test('ring size is L + 1 when the lag dominates, and 0 without time rules', () => {
    const roc: Rule = {
      id: 'roc',
      type: 'rate_of_change',
      mode: 'edge',
      lagMs: 300_000,
      pct: 10,
      direction: 'up',
    };
    assert.equal(
      planRules({
        window: { size: 5, paneMs: 1_000 },
        rules: [rules[3] as Rule, roc],
      }).ringPanes,
      301,
    );
    assert.equal(
      planRules({
        window: { size: 5, paneMs: 1_000 },
        rules: rules.slice(0, 3),
      }).ringPanes,
      0,
    );
  });
});
