import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Side, Tally } from '../../../src/backtest/tally.js';
import type { BacktestAlert, BacktestResult } from '../../../src/protocol/messages.js';

/** An alert as a worker reports it (only what the tally reads matters). */
function alert(record: number, baseline: boolean, zoneId: string, rule: string, firing: boolean, ts: number, more: Partial<BacktestAlert> = {}): BacktestAlert {
  return {
    record,
    baseline,
    twin: false,
    zoneId,
    rule,
    firing,
    removed: false,
    every: false,
    shadow: false,
    seq: record + 1,
    ts,
    text: `${zoneId}:${rule}:${record + 1}`,
    ...more,
  };
}

function result(alerts: BacktestAlert[], counted = 10): BacktestResult {
  return { kind: 'backtested', alerts, rejected: [], counted, warmup: 0, skipped: 0, minTs: 0, maxTs: 10_000, zones: 2 };
}

function recording() {
  const written: string[] = [];
  const difference: Array<[Side, string]> = [];
  return {
    written,
    difference,
    outputs: { candidate: (a: BacktestAlert) => written.push(a.text), difference: (only: Side, a: BacktestAlert) => difference.push([only, a.text]) },
  };
}

test('the difference: twins (matched by the worker) are in both; the others are on one side, each written out', () => {
  const out = recording();
  const tally = new Tally(true, out.outputs);
  tally.add(
    0,
    10,
    result([
      // Reading 0: both fire hot (twins); only the candidate fires warm.
      alert(0, false, 'z', 'hot', true, 1_000, { twin: true }),
      alert(0, false, 'z', 'warm', true, 1_000),
      alert(0, true, 'z', 'hot', true, 1_000, { twin: true, text: '' }),
      // Reading 1: the candidate resolves hot where the baseline resolves it as removed: two different alerts.
      alert(1, false, 'z', 'hot', false, 2_000),
      alert(1, true, 'z', 'hot', false, 2_000, { removed: true }),
      // Reading 2, another zone: only the baseline.
      alert(2, true, 'y', 'hot', true, 3_000),
    ]),
  );
  tally.finish();
  assert.deepEqual(Object.fromEntries(tally.difference), {
    hot: { onlyCandidate: 1, onlyBaseline: 2, both: 1 },
    warm: { onlyCandidate: 1, onlyBaseline: 0, both: 0 },
  });
  assert.deepEqual(tally.totals, { onlyCandidate: 2, onlyBaseline: 2, both: 1 });
  assert.deepEqual(out.written, ['z:hot:1', 'z:warm:1', 'z:hot:2'], "the candidate's alerts, every one, in order");
  assert.deepEqual(out.difference, [
    ['candidate', 'z:warm:1'],
    ['candidate', 'z:hot:2'],
    ['baseline', 'z:hot:2'],
    ['baseline', 'y:hot:3'],
  ]);
  assert.deepEqual(tally.examples.baseline.get('hot'), ['z:hot:2', 'y:hot:3']);
  assert.equal(tally.baseline?.rules.get('hot')?.firing, 2, "a twin counts in the baseline's figures too");
});

test('per rule: firings, resolutions, zones, and the longest episode (a still-firing one lasts to the last reading counted)', () => {
  const tally = new Tally(false, recording().outputs);
  tally.add(
    0,
    4,
    result([
      alert(0, false, 'a', 'hot', true, 1_000),
      alert(1, false, 'a', 'hot', false, 61_000),
      alert(2, false, 'b', 'hot', true, 5_000),
      alert(3, false, 'c', 'hot', true, 9_990, { shadow: true }),
    ]),
  );
  tally.add(1, 2, { ...result([alert(4, false, 'b', 'hot', false, 20_000)]), minTs: 500, maxTs: 100_000 });
  tally.finish();
  const hot = tally.candidate.rules.get('hot');
  assert.ok(hot !== undefined);
  assert.equal(hot.firing, 3);
  assert.equal(hot.resolved, 2);
  assert.deepEqual([...hot.zones].sort(), ['a', 'b', 'c']);
  assert.equal(hot.shadow, true);
  assert.deepEqual(hot.longest, { zoneId: 'c', from: 9_990, to: 100_000, stillFiring: true });
  assert.deepEqual(hot.firingTs, [1_000, 5_000, 9_990]);
  assert.equal(tally.records, 6);
  assert.equal(tally.zones, 4, "each worker's latest zone count, summed");
  assert.equal(tally.minTs, 0);
  assert.equal(tally.maxTs, 100_000);
});

test('mode every: each firing counts, none opens an episode', () => {
  const tally = new Tally(false, recording().outputs);
  tally.add(0, 3, result([alert(0, false, 'a', 'spike', true, 1_000, { every: true }), alert(1, false, 'a', 'spike', true, 2_000, { every: true })]));
  tally.finish();
  const spike = tally.candidate.rules.get('spike');
  assert.equal(spike?.firing, 2);
  assert.equal(spike?.longest, undefined);
});

test('examples: at most three per rule and side', () => {
  const out = recording();
  const tally = new Tally(true, out.outputs);
  tally.add(0, 5, result(Array.from({ length: 5 }, (_, i) => alert(i, false, 'z', 'hot', i % 2 === 0, i * 1_000))));
  assert.equal(tally.examples.candidate.get('hot')?.length, 3);
  assert.equal(out.difference.length, 5, 'the difference file has every one');
});
