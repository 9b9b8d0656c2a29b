import assert from 'node:assert/strict';
import { test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { parseClusterNodes } from '../../../src/state/redis-connect.js';
import { SnapshotKeys } from '../../../src/state/redis-keys.js';

// Zone ids that look like key parts, hash tags or glob patterns must not move a key out of its partition's slot.
const ZONES = ['boiler', 'a:meta', '{other}', '}', 'x{y}z', 'ünï:çödé', '7', '*', ''];

function partitionKeys(keys: SnapshotKeys, partition: number): string[] {
  return [keys.meta(partition), keys.ids(partition), ...ZONES.map((zoneId) => keys.zone(partition, zoneId))];
}

test('Redis Cluster layout: every key of a partition hashes to one slot (CRC16), and partitions spread over slots', () => {
  const keys = new SnapshotKeys('klaxon:readings', true);
  const slots = new Set<number>();
  for (let partition = 0; partition < 64; partition++) {
    const [first, ...rest] = partitionKeys(keys, partition).map((key) => calculateSlot(key));
    for (const slot of rest) assert.equal(slot, first, `partition ${partition}: ${partitionKeys(keys, partition).join(' ')}`);
    assert.equal(first, calculateSlot(`klaxon:readings:${partition}`), 'the slot is the tag\'s: "prefix:topic:partition"');
    slots.add(first ?? -1);
  }
  assert.ok(slots.size > 50, `64 partitions over ${slots.size} slots`);
});

test('one Redis keeps the layout snapshots have always had: prefix:topic:partition:meta|ids|zone:ID', () => {
  const keys = new SnapshotKeys('klaxon:readings', false);
  assert.deepEqual(partitionKeys(keys, 3).slice(0, 4), [
    'klaxon:readings:3:meta',
    'klaxon:readings:3:ids',
    'klaxon:readings:3:zone:boiler',
    'klaxon:readings:3:zone:a:meta',
  ]);
  const tagged = new SnapshotKeys('klaxon:readings', true);
  assert.deepEqual(partitionKeys(tagged, 3).slice(0, 3), ['{klaxon:readings:3}:meta', '{klaxon:readings:3}:ids', '{klaxon:readings:3}:zone:boiler']);
});

test("a meta key names its partition; a zone key ending in ':meta', another topic's or another layout's key does not", () => {
  for (const tagged of [false, true]) {
    const keys = new SnapshotKeys('klaxon:readings', tagged);
    assert.equal(keys.partitionOfMeta(keys.meta(12)), 12);
    assert.equal(keys.partitionOfMeta(keys.zone(12, 'a:meta')), undefined);
    assert.equal(keys.partitionOfMeta(keys.zone(12, '}:meta')), undefined);
    assert.equal(keys.partitionOfMeta(new SnapshotKeys('klaxon:readings2', tagged).meta(12)), undefined);
    assert.equal(keys.partitionOfMeta(new SnapshotKeys('klaxon:readings', !tagged).meta(12)), undefined);
  }
});

test('SCAN patterns: glob characters in the prefix are literal', () => {
  assert.equal(new SnapshotKeys('a*[b]?:t', false).everyKey(), 'a\\*\\[b\\]\\?:t:*');
  assert.equal(new SnapshotKeys('k:t', true).everyKey(), '{k:t:*');
  assert.equal(new SnapshotKeys('k:t', true).everyMeta(), '{k:t:*}:meta');
  assert.equal(new SnapshotKeys('k:t', false).everyMeta(), 'k:t:*:meta');
});

test('cluster nodes: "host:port" or URLs; the credentials are the cluster\'s, from the first node naming them', () => {
  assert.deepEqual(parseClusterNodes(['127.0.0.1:17001', 'redis://:s%40cret@10.0.0.2:7000', 'redis://u:other@[::1]:7001', 'node-4']), {
    startupNodes: [
      { host: '127.0.0.1', port: 17001 },
      { host: '10.0.0.2', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'node-4', port: 6379 },
    ],
    credentials: { password: 's@cret' },
  });
  assert.deepEqual(parseClusterNodes(['rediss://u:p@h:1']).credentials, { password: 'p', username: 'u', tls: {} });
});
