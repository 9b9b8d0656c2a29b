import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BacktestShard } from '../../../src/engine/backtest-shard.js';
import { type BacktestTask, linesTask } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

const window = { size: 10, pane: '1s' };
const reading = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });
const task = (lines: string[], warmup = false): BacktestTask => ({ ...linesTask(lines), kind: 'backtest', warmup });

test("a backtest worker: both rule sets on each reading over one zone's statistics, each reading's alerts matched (twins)", () => {
  const candidate = rulesConfig({ window, rules: [{ id: 'hot', type: 'threshold', above: 85 }] });
  const baseline = rulesConfig({ window, rules: [{ id: 'hot', type: 'threshold', above: 89 }] });
  const shard = new BacktestShard(shardSetup(candidate), {
    baseline: baseline.versions,
    from: Number.NEGATIVE_INFINITY,
    until: Number.POSITIVE_INFINITY,
    countFrom: Number.NEGATIVE_INFINITY,
  });
  const result = shard.process(task([reading('z', 87, 1_000), reading('z', 95, 2_000), reading('z', 70, 3_000), 'not json']));
  const seen = result.alerts.map((a) => [a.record, a.baseline ? 'baseline' : 'candidate', a.firing ? 'firing' : 'resolved', a.twin, a.text === '']);
  assert.deepEqual(seen, [
    [0, 'candidate', 'firing', false, false],
    [1, 'baseline', 'firing', false, false],
    [2, 'candidate', 'resolved', true, false],
    [2, 'baseline', 'resolved', true, true],
  ]);
  assert.equal(JSON.parse(result.alerts[2]?.text ?? '{}').alert_id, 'z:hot:3', 'one seq for both rule sets: the statistics are shared');
  assert.deepEqual([result.counted, result.rejected.length, result.minTs, result.maxTs, result.zones], [3, 1, 1_000, 3_000, 1]);
});

test('a backtest worker: readings outside the range are absent, warm-up ones build statistics but raise nothing, other zones are left out', () => {
  const rules = rulesConfig({ window, rules: [{ id: 'z', type: 'zscore', k: 1, minSamples: 2 }] });
  const shard = new BacktestShard(shardSetup(rules), { from: 1_000, until: 10_000, countFrom: 5_000, zones: ['a*'] });
  const lines = [
    reading('a1', 10, 500),
    reading('a1', 10, 1_000),
    reading('a1', 12, 2_000),
    reading('b', 50, 6_000),
    reading('a1', 40, 6_000),
    reading('a1', 10, 10_000),
  ];
  const result = shard.process(task(lines));
  // The reading at 500 and the one at 10,000 are outside; b is not wanted; 1,000 and 2,000 warm up; 6,000 counts (seq 3: the warm-up readings count in seq).
  assert.deepEqual([result.counted, result.warmup, result.skipped, result.zones], [1, 2, 3, 1]);
  assert.deepEqual(
    result.alerts.map((a) => JSON.parse(a.text).alert_id),
    ['a1:z:3'],
  );
  // A Kafka warm-up task: evaluated, no alert wanted.
  const warm = shard.process(task([reading('a1', 90, 7_000)], true));
  assert.deepEqual([warm.alerts.length, warm.warmup, warm.counted], [0, 1, 0]);
});
