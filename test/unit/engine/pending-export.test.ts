/**
 * A cut exported a slice at a time while batches run between the slices
 * (Shard.beginSnapshot / continueSnapshot, engine/pending-export.ts): the
 * export must be of the zones as they were at the cut.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Shard } from '../../../src/engine/shard.js';
import { shardTaskHandler } from '../../../src/engine/shard-tasks.js';
import { applyUpdate, unpackUpdates, zoneImage } from '../../../src/engine/zone-image.js';
import { linesTask, type PartitionUpdates, type SnapshotResult } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

const RULES = rulesConfig({
  window: { size: 7, pane: 1_000 },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 2, minSamples: 3 },
    { id: 'above-avg', type: 'window_avg', span: 5_000, abovePct: 1 },
  ],
});
const setup = () => shardSetup(RULES);
const line = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });

type Store = Map<string, Uint8Array>;

function apply(store: Store, partitions: readonly PartitionUpdates[]): void {
  for (const part of partitions) {
    for (const update of part.chunks.flatMap(unpackUpdates)) {
      const key = `${part.partition}/${update.zoneId}`;
      store.set(key, applyUpdate(store.get(key), update));
    }
  }
}

/** Enough zones that a slice (32 zones between looks at the clock) leaves some for the next. */
const ZONES = Array.from({ length: 100 }, (_, i) => `z${i}`);

const batch = fc.array(
  fc.record({
    zone: fc.integer({ min: 0, max: ZONES.length - 1 }),
    partition: fc.constantFrom(0, 0, 1),
    dt: fc.integer({ min: 0, max: 1_500 }),
    temperature: fc.oneof(fc.double({ min: 20, max: 100, noNaN: true }), fc.constant(50)),
  }),
  { minLength: 1, maxLength: 60 },
);

test('a cut exported in slices, with batches between them, stores exactly what an export at the cut stores', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ batch, cut: fc.boolean(), full: fc.boolean() }), { minLength: 1, maxLength: 12 }), (steps) => {
      // The reference exports each cut at once; the sliced shard begins it at the same point and exports a slice after each later batch.
      const reference = new Shard(setup());
      const sliced = new Shard(setup());
      const [atCut, fromSlices]: [Store, Store] = [new Map(), new Map()];
      let exporting = false;
      let cut = 0;
      let ts = 1_000_000;
      const collect = (result: SnapshotResult) => {
        if (!result.done) return;
        apply(fromSlices, result.partitions);
        exporting = false;
        // Every cut's slices add up to the cut's stored state.
        assert.deepEqual(fromSlices, atCut);
      };
      for (const step of steps) {
        const lines = step.batch.map((r) => {
          ts += r.dt;
          return line(ZONES[r.zone] as string, r.temperature, ts);
        });
        const partition = step.batch[0]?.partition ?? 0;
        assert.deepEqual(sliced.process(linesTask(lines, partition)).alerts, reference.process(linesTask(lines, partition)).alerts);
        if (exporting) collect(sliced.continueSnapshot(0));
        if (step.cut && !exporting) {
          const full = step.full ? [0] : [];
          cut++;
          apply(atCut, reference.snapshot(full, cut).partitions);
          sliced.beginSnapshot(full, cut);
          exporting = true;
          collect(sliced.continueSnapshot(0));
        }
      }
      while (exporting) collect(sliced.continueSnapshot(0));
      // And what changed after the last cut is exported by the next one, as by the reference.
      apply(fromSlices, sliced.snapshot([], cut + 1).partitions);
      for (const [zoneId, zone] of sliced.zones) assert.deepEqual(fromSlices.get(`${zone.partition}/${zoneId}`), zoneImage(zone, sliced.book), zoneId);
    }),
    { numRuns: 150 },
  );
});

test('a task that changes zones other than by a reading finishes the export first; the next slice hands it over', () => {
  const handle = shardTaskHandler(setup());
  const lines = ZONES.map((zone, i) => line(zone, 50, 1_000 + i));
  handle(linesTask(lines));
  const first = handle({ kind: 'snapshot', fullPartitions: [], cut: 1, sliceMs: 0 }) as SnapshotResult;
  assert.equal(first.done, false, 'a slice of 0 ms leaves zones to export');
  // The drop finishes the export first: the next slice, however short, hands over every zone the cut holds.
  handle({ kind: 'drop', partitions: [0] });
  const rest = handle({ kind: 'snapshotSlice', sliceMs: 0 }) as SnapshotResult;
  assert.equal(rest.done, true);
  assert.equal(rest.partitions[0]?.zones, ZONES.length);
  // A cut begun while one is still being exported is a protocol error, not a silent mix of two cuts.
  handle(linesTask(lines));
  handle({ kind: 'snapshot', fullPartitions: [], cut: 2, sliceMs: 0 });
  assert.throws(() => handle({ kind: 'snapshot', fullPartitions: [], cut: 3, sliceMs: 0 }), /began before cut 2/);
});
