/**
 * A worker's side of tiering (Shard.evict / release / restore ifAbsent): which
 * zones may leave memory, and what a reading that races an eviction finds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard } from '../../../src/engine/shard.js';
import { zoneImage } from '../../../src/engine/zone-image.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

const line = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });
const setup = () => shardSetup(rulesConfig({ window: { size: 20 }, rules: [{ id: 'hot', type: 'threshold', above: 80 }] }));

test('evicts least recently used first, only zones unchanged since a saved export, never a FIRING one', () => {
  const shard = new Shard(setup());
  // One task per zone: a, b, c, d in this order of use; d fires.
  for (const [i, zone] of ['a', 'b', 'c', 'd'].entries()) shard.process(linesTask([line(zone, zone === 'd' ? 90 : 50, 1_000 + i)]));
  shard.snapshot([], 1);
  // b is used again after the cut: changed since its export.
  shard.process(linesTask([line('b', 51, 2_000)]));
  // Cut 1 is not saved yet: nothing may go.
  assert.deepEqual(shard.evict([0], [0], 0).zoneIds, []);
  // Saved through cut 1, keep 1 zone: a and c go (oldest first), b changed since, d fires.
  const evicted = shard.evict([0], [1], 1);
  assert.deepEqual(evicted.zoneIds, ['a', 'c']);
  assert.deepEqual(evicted.partitions, [0, 0]);
  assert.deepEqual([...shard.zones.keys()].sort(), ['b', 'd']);
  // Only the partitions named: none of partition 3's.
  assert.deepEqual(shard.evict([3], [1], 0).zoneIds, []);
});

test('a reading queued before the release brings its zone back unchanged; the release names it as reclaimed', () => {
  const reference = new Shard(setup());
  const shard = new Shard(setup());
  const first = [line('a', 50, 1_000), line('b', 60, 1_001)];
  for (const s of [reference, shard]) s.process(linesTask(first));
  shard.snapshot([], 1);
  assert.deepEqual(shard.evict([0], [1], 0).zoneIds, ['a', 'b']);
  const next = [line('a', 85, 2_000)];
  const alerts = (s: Shard) => s.process(linesTask(next)).alerts.map((a) => a.text);
  assert.deepEqual(alerts(shard), alerts(reference), 'a set-aside zone is reclaimed with its state');
  assert.deepEqual(shard.release(['a', 'b']).reclaimed, ['a']);
  assert.deepEqual([...shard.zones.keys()], ['a']);
});

test('a reload keeps a zone the worker holds (newer than the store) and installs one it does not', () => {
  const shard = new Shard(setup());
  shard.process(linesTask([line('a', 50, 1_000), line('b', 55, 1_000)]));
  const stale = zoneImage(shard.zones.get('a') as NonNullable<ReturnType<typeof shard.zones.get>>, shard.book);
  const image = zoneImage(shard.zones.get('b') as NonNullable<ReturnType<typeof shard.zones.get>>, shard.book);
  shard.process(linesTask([line('a', 52, 2_000)]));
  shard.zones.delete('b');
  shard.restore(['a', 'b'], [stale, image], true);
  assert.equal(shard.zones.get('a')?.seq, 2, 'the newer state in memory is kept');
  assert.equal(shard.zones.get('b')?.seq, 1, 'the absent zone is read back');
  // Without ifAbsent (a recovery), the snapshot replaces what the worker holds.
  shard.restore(['a'], [stale]);
  assert.equal(shard.zones.get('a')?.seq, 1);
});

test('a partition written whole takes its set-aside zones too; dropping a partition drops them', () => {
  const shard = new Shard(setup());
  shard.process(linesTask([line('a', 50, 1_000), line('b', 55, 1_001)]));
  shard.snapshot([], 1);
  assert.deepEqual(shard.evict([0], [1], 1).zoneIds, ['a']);
  const whole = shard.snapshot([0], 2).partitions[0];
  assert.equal(whole?.zones, 2, 'both zones, the set-aside one included');
  shard.drop([0]);
  assert.deepEqual(shard.release(['a']).reclaimed, ['a'], 'dropped: nothing left to release');
  assert.equal(shard.zones.size, 0);
});
