import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertFeed, type SeenAlert } from '../../../src/observe/alert-feed.js';

function record(zone: string, rule: string, seq: number, status = 'firing') {
  const value = JSON.stringify({
    alert_id: `${zone}:${rule}:${seq}`,
    zone_id: zone,
    device_id: 'd',
    rule,
    type: 'threshold',
    status,
    value: 99,
    ts: seq,
    seq,
    details: {},
  });
  return { key: zone, value };
}

test('the feed keeps the newest alerts in a bounded ring and tells listeners what arrived', () => {
  const feed = new AlertFeed(3);
  const heard: SeenAlert[] = [];
  feed.onAlerts((alerts) => heard.push(...alerts));
  feed.add([record('a', 'hot', 1), record('b', 'hot', 1)]);
  const seen = feed.count;
  feed.add([record('a', 'hot', 2, 'resolved'), record('c', 'hot', 1), { key: 'x', value: 'not json' }]);
  assert.equal(feed.count, 4, 'a record that does not parse is skipped');
  assert.equal(heard.length, 4);
  assert.deepEqual(
    feed.since(seen, 10).map((a) => a.alertId),
    ['a:hot:2', 'c:hot:1'],
  );
  assert.deepEqual(
    feed.since(0, 10).map((a) => a.alertId),
    ['b:hot:1', 'a:hot:2', 'c:hot:1'],
    'only the last 3 are kept',
  );
  assert.deepEqual(
    feed.since(0, 1).map((a) => a.alertId),
    ['c:hot:1'],
    'a limit keeps the newest',
  );
  assert.deepEqual(
    feed.forZone('a', 1, 5).map((a) => `${a.seq}/${a.status}`),
    ['2/resolved'],
  );
});
