import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Rule, RuleVersion } from '../../../src/config/types.js';
import { paneOf, planRule, planWindow } from '../../../src/engine/plan.js';
import { stateBitsOf } from '../../../src/engine/rule-state.js';
import { Direction, RuleKind } from '../../../src/model/plan.js';
import { rulesConfig } from '../../helpers/rules.js';

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

describe('planRule', () => {
  const [version] = rulesConfig({
    window: { size: 500, pane: 10_000 },
    rules: [
      { id: 'hot', type: 'threshold', above: 90, clearAbove: 85, for: '30s', severity: 'critical' },
      { id: 'cold', type: 'threshold', mode: 'every', below: -10, shadow: true },
      { id: 'z', type: 'zscore', k: 3, minSamples: 0 },
      { id: 'avg', type: 'window_avg', span: '5m', abovePct: 5, minSamples: 0, overrides: [{ zones: ['oven-*'], span: '1m', severity: 'info' }] },
      { id: 'roc', type: 'rate_of_change', mode: 'every', lag: '1m', pct: 10, direction: 'both' },
    ],
  }).versions;
  const rules = (version as RuleVersion).rules;
  const plan = (i: number, override?: number) => {
    const rule = rules[i] as Rule;
    return planRule(rule, override === undefined ? undefined : rule.overrides[override], 10_000, i, 7);
  };

  test('turns durations into pane counts, fills open bounds and hysteresis levels, keeps severity, shadow and version', () => {
    assert.deepEqual(plan(0), {
      id: 'hot',
      slot: 0,
      version: 7,
      every: false,
      severity: 'critical',
      shadow: false,
      forMs: 30_000,
      clearAbove: 85,
      clearBelow: Number.NEGATIVE_INFINITY,
      kind: RuleKind.threshold,
      type: 'threshold',
      stateBits: stateBitsOf(RuleKind.threshold, false, 2),
      above: 90,
      below: Number.NEGATIVE_INFINITY,
    });
    assert.deepEqual(
      { ...plan(1), stateBits: 0 },
      {
        id: 'cold',
        slot: 1,
        version: 7,
        every: true,
        severity: 'warning',
        shadow: true,
        forMs: 0,
        clearAbove: Number.POSITIVE_INFINITY,
        clearBelow: Number.NEGATIVE_INFINITY,
        kind: RuleKind.threshold,
        type: 'threshold',
        stateBits: 0,
        above: Number.POSITIVE_INFINITY,
        below: -10,
      },
    );
    assert.equal(plan(1).stateBits, stateBitsOf(RuleKind.threshold, true, 1));
    const z = plan(2);
    assert.equal(z.kind === RuleKind.zscore && z.minSamples, 1, 'minSamples 0 behaves as 1');
    const avg = plan(3);
    assert.equal(avg.kind === RuleKind.windowAvg && avg.panes, 30);
    const roc = plan(4);
    assert.equal(roc.kind === RuleKind.rateOfChange && roc.lagPanes, 6);
    assert.equal(roc.kind === RuleKind.rateOfChange && roc.direction, Direction.both);
  });

  test('an override replaces only the parameters it sets', () => {
    const avg = plan(3, 0);
    assert.equal(avg.kind === RuleKind.windowAvg && avg.panes, 6);
    assert.equal(avg.kind === RuleKind.windowAvg && avg.abovePct, 5);
    assert.equal(avg.severity, 'info');
    assert.equal(avg.id, 'avg');
  });

  test('the window: W, g and R = window.retain, by default what the first version needs (overrides included)', () => {
    const window = (raw: Record<string, unknown>) => planWindow(rulesConfig(raw).window);
    const roc = { id: 'roc', type: 'rate_of_change', lag: '5m' };
    assert.deepEqual(window({ window: { size: 5 }, rules: [roc] }), { historySize: 5, paneMs: 1_000, ringPanes: 301 });
    assert.equal(window({ rules: [{ id: 'avg', type: 'window_avg', span: '10m' }, roc] }).ringPanes, 600);
    assert.equal(window({ rules: [{ id: 'hot', type: 'threshold', above: 1 }] }).ringPanes, 0);
    assert.equal(window({ rules: [{ ...roc, overrides: [{ zones: ['a'], lag: '6m' }] }] }).ringPanes, 361);
    assert.equal(window({ window: { retain: 900 }, rules: [roc] }).ringPanes, 900);
  });
});
