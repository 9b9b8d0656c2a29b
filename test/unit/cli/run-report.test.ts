import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressLine, summaryLines } from '../../../src/cli/run-report.js';
import type { RunSummary } from '../../../src/coordinator/stats.js';

const quiet: RunSummary = {
  records: 4,
  accepted: 3,
  rejected: 1,
  alerts: 1,
  firing: 1,
  resolved: 0,
  shadowAlerts: 0,
  suppressed: 0,
  zones: 1,
  keyMismatches: 0,
  replayed: 0,
  discarded: 0,
  elapsedMs: 2_000,
};

test('summary: singular where one, nothing about replays when there were none', () => {
  assert.deepEqual(summaryLines(quiet), ['4 records (3 accepted, 1 dead letter), 1 alert written (1 firing, 0 resolved), 1 zone, 2.0 s, 2 records/s']);
});

test('summary after a restart: alerts written apart from those suppressed during the replay; replayed and unkeyed records said', () => {
  const lines = summaryLines({
    ...quiet,
    records: 1_000_000,
    accepted: 999_000,
    rejected: 1_000,
    alerts: 377,
    firing: 200,
    resolved: 177,
    suppressed: 15_583,
    zones: 10_000,
    replayed: 84_000,
    keyMismatches: 1,
    elapsedMs: 12_345,
  });
  assert.deepEqual(lines, [
    '1,000,000 records (999,000 accepted, 1,000 dead letters), 377 alerts written (200 firing, 177 resolved), 15,583 suppressed during replay, 10,000 zones, 12.3 s, 81,004 records/s',
    '84,000 records replayed after the snapshots to rebuild state (their alerts were written before)',
    '1 record not keyed by their zone_id: per-zone order, and so the alerts, hold only when readings are keyed by zone_id',
  ]);
});

test('progress line: written and suppressed apart, lag unknown shown as such', () => {
  const view = { records: 84_000, firing: 1, resolved: 0, suppressed: 0, rejected: 2, zones: 1, rate: 41_999.6, lag: undefined };
  assert.equal(progressLine(view), '42,000 readings/s | 84,000 read | 1 alert written (1 firing, 0 resolved) | 2 dead letters | 1 zone | lag -');
  assert.equal(
    progressLine({ ...view, suppressed: 15_960, lag: 916_000 }),
    '42,000 readings/s | 84,000 read | 1 alert written (1 firing, 0 resolved) | 15,960 suppressed in replay | 2 dead letters | 1 zone | lag 916,000',
  );
});
