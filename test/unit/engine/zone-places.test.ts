/**
 * Zones give their slab places back (slab.ts) when a worker drops them, when
 * an evicted zone is released, and when a restored image replaces them; the
 * places are reused by new zones without touching the zones still held.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard } from '../../../src/engine/shard.js';
import { slabBytesInUse } from '../../../src/engine/slab.js';
import { zoneImage } from '../../../src/engine/zone-image.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

const RULES = rulesConfig({
  window: { size: 50, pane: 1_000 },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'above-avg', type: 'window_avg', span: 20_000, abovePct: 1 },
    { id: 'rising', type: 'rate_of_change', lag: 10_000, pct: 5 },
  ],
});

/** `n` readings for each zone, a second apart, some hot (rule states), some not decimals (doubles). */
function readings(zones: readonly string[], n: number, from = 1_760_000_000_000): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    zones.forEach((zone, z) => {
      const temperature = i % 9 === 0 ? 90.5 : z % 3 === 0 ? 60 + i / 7 : Number((60 + ((i * 13 + z) % 300) / 10).toFixed(1));
      lines.push(JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts: from + i * 1_000 + z }));
    });
  }
  return lines;
}

const images = (shard: Shard, zones: readonly string[]) =>
  zones.map((zone) => {
    const state = shard.zones.get(zone);
    assert.ok(state !== undefined, zone);
    return zoneImage(state, shard.book);
  });

test('dropped, released and replaced zones give their places back; new zones reuse them and the others keep their state', () => {
  const baseline = slabBytesInUse();
  const shard = new Shard(shardSetup(RULES, 1, 0));
  const kept = ['k0', 'k1', 'k2', 'k3'];
  const dropped = ['d0', 'd1', 'd2', 'd3'];
  shard.process(linesTask(readings(kept, 80), 0));
  shard.process(linesTask(readings(dropped, 80), 1));
  const before = images(shard, kept);
  const held = slabBytesInUse() - baseline;

  shard.drop([1]);
  const afterDrop = slabBytesInUse() - baseline;
  assert.ok(afterDrop < held, `${afterDrop} bytes in use after the drop, ${held} before`);
  shard.process(linesTask(readings(['n0', 'n1', 'n2', 'n3'], 80), 1));
  assert.deepEqual(images(shard, kept), before);

  // Evicted (once saved) and released: their places go back too.
  shard.snapshot([], 1);
  const evicted = shard.evict([0, 1], [1, 1], 0);
  assert.ok(evicted.zoneIds.length > 0);
  const beforeRelease = slabBytesInUse();
  shard.release(evicted.zoneIds);
  assert.ok(slabBytesInUse() < beforeRelease);

  // A restored image replacing a zone in memory: the old zone's places go back, the restored zone reads as its image.
  const fresh = new Shard(shardSetup(RULES, 1, 0));
  fresh.process(linesTask(readings(kept, 80), 0));
  const inUse = slabBytesInUse();
  fresh.restore(kept, before);
  // Not more than before: the restored zones took places, the replaced ones gave theirs back (a restored ring fits its panes, a grown one may not).
  assert.ok(slabBytesInUse() <= inUse, `${slabBytesInUse()} bytes in use after the restore, ${inUse} before`);
  assert.deepEqual(images(fresh, kept), before);
});

test('a zone restored while a copy of it is set aside for eviction replaces that copy, and a bad image keeps no places', () => {
  // This test's own zones only: whatever it holds when done is a leak.
  const baseline = slabBytesInUse();
  const shard = new Shard(shardSetup(RULES, 1, 0));
  shard.process(linesTask(readings(['a'], 40), 1));
  shard.snapshot([1], 1);
  const [saved] = images(shard, ['a']);
  assert.deepEqual(shard.evict([1], [1], 0).zoneIds, ['a']);
  // Restored (not "if absent") while set aside: the restored zone replaces the copy set aside.
  shard.restore(['a'], [saved as Uint8Array]);
  // Evicted again, then the partition leaves: every place comes back.
  shard.snapshot([1], 2);
  assert.deepEqual(shard.evict([1], [2], 0).zoneIds, ['a']);
  shard.drop([1]);
  assert.equal(slabBytesInUse(), baseline, 'no place of the zone is still held');

  // An image whose rule states do not decode: the restore fails, and the zone it began takes nothing with it.
  // 37 readings: the last one is hot, so the zone holds a FIRING rule state.
  shard.process(linesTask(readings(['b'], 37), 2));
  const [image] = images(shard, ['b']);
  const ruleCapacity = shard.zones.get('b')?.ruleCapacity ?? 0;
  assert.ok(ruleCapacity > 0);
  shard.drop([2]);
  const bad = (image as Uint8Array).slice();
  bad.fill(0xc1, bad.byteLength - ruleCapacity);
  assert.throws(() => shard.restore(['b'], [bad]));
  assert.equal(slabBytesInUse(), baseline, 'the failed restore gave its places back');
});
