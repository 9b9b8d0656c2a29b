import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Shard } from '../../../src/engine/shard.js';
import { applyUpdate, IMAGE_HEADER_BYTES, unpackUpdates, zoneImage } from '../../../src/engine/zone-image.js';
import { linesTask, type ProcessResult } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

// Small rings, so short streams wrap both the history and the panes many times over.
const RULES = rulesConfig({
  window: { size: 7, pane: 1_000 },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 2, minSamples: 3 },
    { id: 'above-avg', type: 'window_avg', span: 5_000, abovePct: 1 },
    { id: 'rising', type: 'rate_of_change', lag: 3_000, pct: 5 },
  ],
});

const setup = (shards = 1, shard = 0) => shardSetup(RULES, shards, shard);
const line = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });

type Store = Map<string, Uint8Array>;

/** What the Redis store does with a snapshot: SET whole images, SETRANGE changed ranges. */
function applySnapshot(shard: Shard, store: Store, fullPartitions: number[] = []): void {
  for (const part of shard.snapshot(fullPartitions).partitions) {
    for (const update of part.chunks.flatMap(unpackUpdates)) {
      const key = `${part.partition}/${update.zoneId}`;
      store.set(key, applyUpdate(store.get(key), update));
    }
  }
}

/** A step: readings of a few zones, with time that mostly moves on, sometimes jumps far ahead, sometimes lags. */
const step = fc.record({
  zone: fc.constantFrom('a', 'b', 'c'),
  partition: fc.constantFrom(0, 0, 0, 1),
  dt: fc.oneof(fc.integer({ min: 0, max: 1_500 }), fc.integer({ min: -6_000, max: 0 }), fc.integer({ min: 5_000, max: 40_000 })),
  temperature: fc.oneof(fc.double({ min: 20, max: 100, noNaN: true }), fc.constant(50)),
  snapshot: fc.boolean(),
});

test('changed ranges applied over stored images give exactly the live zones', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), (steps) => {
      const shard = new Shard(setup());
      const store: Store = new Map();
      let ts = 1_000_000;
      for (const s of steps) {
        ts = Math.max(0, ts + s.dt);
        shard.process(linesTask([line(s.zone, s.temperature, ts)], s.partition));
        if (s.snapshot) applySnapshot(shard, store);
      }
      applySnapshot(shard, store);
      for (const [zoneId, zone] of shard.zones) {
        assert.deepEqual(store.get(`${zone.partition}/${zoneId}`), zoneImage(zone, shard.book), `zone ${zoneId}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('a zone restored from its stored image goes on giving the same alerts', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 2, maxLength: 80 }), fc.nat(), (steps, at) => {
      const cut = 1 + (at % (steps.length - 1));
      const lines: string[] = [];
      let ts = 1_000_000;
      for (const s of steps) {
        ts = Math.max(0, ts + s.dt);
        lines.push(line(s.zone, s.temperature, ts));
      }
      // The reference: the whole stream on one shard, and the alerts after the cut.
      const reference = new Shard(setup());
      reference.process(linesTask(lines.slice(0, cut)));
      const after = reference.process(linesTask(lines.slice(cut))).alerts;
      // The stream up to the cut, snapshotted in several steps, restored into a fresh shard.
      const first = new Shard(setup());
      const store: Store = new Map();
      first.process(linesTask(lines.slice(0, Math.ceil(cut / 2))));
      applySnapshot(first, store);
      first.process(linesTask(lines.slice(Math.ceil(cut / 2), cut)));
      applySnapshot(first, store);
      const restored = new Shard(setup());
      restored.restore(
        [...store.keys()].map((key) => key.split('/')[1] as string),
        [...store.values()],
      );
      const resumed: ProcessResult = restored.process(linesTask(lines.slice(cut)));
      assert.deepEqual(resumed.alerts, after);
    }),
    { numRuns: 200 },
  );
});

test('a snapshot of a busy zone writes its changed ranges, not its whole image', () => {
  const rules = rulesConfig({ window: { size: 500 }, rules: [{ id: 'avg', type: 'window_avg', span: 300_000, abovePct: 5 }] });
  const shard = new Shard(shardSetup(rules));
  const store: Store = new Map();
  const readings = (from: number, n: number) => Array.from({ length: n }, (_, i) => line('z', 50 + (i % 3), 1_000_000 + (from + i) * 200));
  shard.process(linesTask(readings(0, 1_000)));
  const first = shard.snapshot([]).partitions[0];
  assert.ok(first !== undefined);
  const image = zoneImage(shard.zones.get('z') as NonNullable<ReturnType<typeof shard.zones.get>>, shard.book);
  // A zone the store does not hold yet goes whole, as what its readings wrote over zeros: 1,000 readings every 200 ms
  // filled the history and 200 of the 300 panes.
  assert.equal(first.bytes, IMAGE_HEADER_BYTES + 500 * 8 + 200 * (8 + 8 + 4));
  for (const update of first.chunks.flatMap(unpackUpdates)) store.set(update.zoneId, applyUpdate(undefined, update));
  assert.deepEqual(store.get('z'), image);
  // Five readings, one second: five history slots and two panes change.
  shard.process(linesTask(readings(1_000, 5)));
  const second = shard.snapshot([]).partitions[0];
  assert.ok(second !== undefined);
  assert.ok(second.bytes < 300, `${second.bytes} bytes`);
  assert.ok(second.bytes >= IMAGE_HEADER_BYTES + 5 * 8);
  // A partition asked for whole is whole again.
  shard.process(linesTask(readings(1_005, 1)));
  assert.equal(shard.snapshot([0]).partitions[0]?.bytes, image.byteLength);
  // Nothing changed: nothing to write.
  assert.deepEqual(shard.snapshot([]).partitions, []);
});

test("a new zone's first image is what its readings wrote: a few hundred bytes, stored as exactly the live image", () => {
  const rules = rulesConfig({
    window: { size: 500 },
    rules: [
      { id: 'avg', type: 'window_avg', span: 300_000, abovePct: 5 },
      { id: 'hot', type: 'threshold', above: 60 },
    ],
  });
  const shard = new Shard(shardSetup(rules));
  shard.process(linesTask([line('n', 50, 1_000_000), line('n', 70, 1_001_000), line('n', 55, 1_001_500)]));
  const zone = shard.zones.get('n');
  assert.ok(zone !== undefined);
  const [part] = shard.snapshot([]).partitions;
  const [update] = part?.chunks.flatMap(unpackUpdates) ?? [];
  assert.ok(update?.whole);
  const image = zoneImage(zone, shard.book);
  assert.ok(image.byteLength > 10_000);
  assert.ok((part?.bytes ?? 0) < 300, `${part?.bytes} bytes`);
  // Over whatever was stored before (a stale image of another length), it replaces it.
  assert.deepEqual(applyUpdate(new Uint8Array(20_000).fill(7), update), image);
});

test('a zone whose records move to another partition is written whole there', () => {
  const shard = new Shard(setup());
  shard.process(linesTask([line('m', 50, 1_000)], 0));
  shard.snapshot([]);
  shard.process(linesTask([line('m', 51, 2_000)], 3));
  const [part] = shard.snapshot([]).partitions;
  assert.equal(part?.partition, 3);
  assert.equal(part?.chunks.flatMap(unpackUpdates)[0]?.whole, true);
});
