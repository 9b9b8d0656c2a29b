/**
 * Slab pools (engine/slab.ts): places are reused, zero-filled when taken,
 * and slabs whose places all came back are freed, one empty slab kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard } from '../../../src/engine/shard.js';
import { SlabPool, slabBytesAllocated, slabCounts } from '../../../src/engine/slab.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

/** Writes the place's number into every byte it has, so a place shared by two owners shows. */
function stamp(pool: SlabPool, place: number): void {
  const at = pool.offsetOf(place);
  pool.slabOf(place).u8.fill(place % 251, at, at + pool.placeBytes);
}

function stamped(pool: SlabPool, place: number): boolean {
  const at = pool.offsetOf(place);
  return pool
    .slabOf(place)
    .u8.subarray(at, at + pool.placeBytes)
    .every((byte) => byte === place % 251);
}

test('places taken are distinct and zero-filled, also when reused', () => {
  const pool = new SlabPool(64);
  const places = Array.from({ length: 3 * pool.placesPerSlab + 5 }, () => pool.take());
  assert.equal(new Set(places).size, places.length);
  for (const place of places) stamp(pool, place);
  for (const place of places.filter((_, i) => i % 3 === 0)) pool.give(place);
  const again = Array.from({ length: 40 }, () => pool.take());
  for (const place of again) {
    const at = pool.offsetOf(place);
    assert.ok(
      pool
        .slabOf(place)
        .u8.subarray(at, at + pool.placeBytes)
        .every((byte) => byte === 0),
      'a reused place starts zeroed',
    );
  }
  for (const place of again) stamp(pool, place);
  // No place is held twice: every holder still reads its own stamp.
  const held = [...places.filter((_, i) => i % 3 !== 0), ...again];
  assert.equal(new Set(held).size, held.length);
  assert.ok(held.every((place) => stamped(pool, place)));
  assert.equal(pool.used, held.length);
});

test('slabs whose places all came back are freed, one empty slab kept; a place taken after reuses a freed number', () => {
  const pool = new SlabPool(1024);
  const perSlab = pool.placesPerSlab;
  const places = Array.from({ length: 10 * perSlab }, () => pool.take());
  assert.equal(pool.slabCount, 10);
  // Every place back but those of one slab: nine slabs empty, eight freed.
  const keep = new Set(places.filter((place) => Math.floor(place / perSlab) === 4));
  for (const place of places) if (!keep.has(place)) pool.give(place);
  assert.equal(pool.used, perSlab);
  assert.equal(pool.slabCount, 2, 'the slab in use and one empty one');
  for (const place of keep) stamp(pool, place);
  // New places fill the empty slab first, then new slabs; the kept places are untouched.
  const more = Array.from({ length: 3 * perSlab }, () => pool.take());
  assert.equal(pool.slabCount, 4);
  assert.ok([...keep].every((place) => stamped(pool, place)));
  assert.ok(more.every((place) => !keep.has(place)));
  for (const place of [...keep, ...more]) pool.give(place);
  assert.equal(pool.used, 0);
  assert.equal(pool.slabCount, 1);
});

test('a zone that comes and goes does not make and free a slab each time', () => {
  const pool = new SlabPool(256);
  const first = pool.take();
  pool.give(first);
  for (let i = 0; i < 100; i++) pool.give(pool.take());
  assert.equal(pool.slabCount, 1);
});

test('views of places: given back by view, and refused for a view of another pool', () => {
  const pool = new SlabPool(64);
  const other = new SlabPool(64);
  const view = pool.takeView((buffer, offset, length) => new Float64Array(buffer, offset, length), 8);
  assert.equal(view.length, 8);
  assert.equal(pool.used, 1);
  assert.throws(() => other.giveView(view), /not a place of this pool/);
  pool.giveView(view);
  assert.equal(pool.used, 0);
});

test("a worker's memory goes back when the zones of its partitions leave: their slabs are freed, not only their places", () => {
  // This file's only test with zones: the thread's pools hold nothing else.
  const rules = rulesConfig({ window: { size: 50, pane: 1_000 }, rules: [{ id: 'avg', type: 'window_avg', span: 20_000, abovePct: 1 }] });
  const shard = new Shard(shardSetup(rules, 1, 0));
  const zones = (partition: number) => Array.from({ length: 1_500 }, (_, i) => `p${partition}-z${i}`);
  const lines = (partition: number) =>
    Array.from({ length: 30 }, (_, i) =>
      zones(partition).map((zone, z) =>
        JSON.stringify({ zone_id: zone, device_id: 'd', temperature: 60 + ((i * 7 + z) % 40) / 10, ts: 1_760_000_000_000 + i * 1_000 }),
      ),
    ).flat();
  const before = slabBytesAllocated();
  shard.process(linesTask(lines(0), 0));
  shard.process(linesTask(lines(1), 1));
  const grown = slabBytesAllocated() - before;
  assert.ok(grown > 0);
  // Partition 1 moves to another process: its zones are dropped. Zones of both partitions share slabs, so about half stays.
  shard.drop([1]);
  const afterOne = slabBytesAllocated() - before;
  assert.ok(afterOne < grown, `${afterOne} bytes of slabs after dropping one of two partitions, ${grown} before`);
  // And the other one: what is left is one empty slab per place size at most (zones grow through several sizes).
  shard.drop([0]);
  assert.equal(shard.zones.size, 0);
  assert.ok(slabBytesAllocated() - before < afterOne);
  assert.ok(
    slabCounts().every((slabs) => slabs <= 1),
    `slabs per pool: ${slabCounts().join(', ')}`,
  );
});
