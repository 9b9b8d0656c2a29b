import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketsFor, countPerBucket, timeTicks } from '../../../src/backtest/timeline.js';
import { parseSpan, parseTime } from '../../../src/backtest/times.js';
import { UsageError } from '../../../src/errors.js';

const NOW = Date.parse('2025-11-24T12:00:00Z');

test('--from and --to: now, -SPAN, ISO dates and epoch milliseconds; anything else is a usage error', () => {
  assert.equal(parseTime('now', '--from', NOW), NOW);
  assert.equal(parseTime('-7d', '--from', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseTime('-36h', '--from', NOW), NOW - 36 * 3_600_000);
  assert.equal(parseTime('2025-11-17', '--from', NOW), Date.parse('2025-11-17T00:00:00Z'));
  assert.equal(parseTime('2025-11-17T08:30:00+01:00', '--from', NOW), Date.parse('2025-11-17T07:30:00Z'));
  assert.equal(parseTime('1760000000000', '--to', NOW), 1_760_000_000_000);
  assert.throws(
    () => parseTime('last week', '--from', NOW),
    (error) => error instanceof UsageError && /--from last week: expected/.test(error.message),
  );
  assert.throws(() => parseTime('-7x', '--to', NOW), UsageError);
});

test('spans: config durations and whole days', () => {
  assert.equal(parseSpan('2d'), 172_800_000);
  assert.equal(parseSpan('90m'), 5_400_000);
  assert.equal(parseSpan('1500'), 1_500);
  assert.equal(parseSpan('soon'), undefined);
});

test('buckets: a round width, at most about a hundred over the period, empty ones counted as zero', () => {
  const from = Date.parse('2025-11-24T08:43:10Z');
  const buckets = bucketsFor(from, from + 34 * 60_000);
  assert.equal(buckets.width, 60_000);
  assert.equal(buckets.start, Date.parse('2025-11-24T08:43:00Z'));
  assert.equal(buckets.count, 35);
  assert.equal(bucketsFor(from, from + 7 * 86_400_000).width, 3 * 3_600_000);
  const counts = countPerBucket([from, from + 1, from + 120_000], buckets);
  assert.deepEqual(counts.slice(0, 4), [
    [buckets.start, 2],
    [buckets.start + 60_000, 0],
    [buckets.start + 120_000, 1],
    [buckets.start + 180_000, 0],
  ]);
  assert.deepEqual(timeTicks(Date.parse('2025-11-24T08:43:00Z'), Date.parse('2025-11-24T09:17:00Z')), [
    Date.parse('2025-11-24T08:45:00Z'),
    Date.parse('2025-11-24T09:00:00Z'),
    Date.parse('2025-11-24T09:15:00Z'),
  ]);
});
