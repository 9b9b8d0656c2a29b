import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type FetchedBatch, FetchedBatches, fetchedBatch } from '../../../../src/io/kafka/fetched-batches.js';
import { packBuffers, packedKey, packedValue, recordCount } from '../../../../src/io/packed-records.js';

/** Records `from`..`from + count - 1` of a partition, fetched at `at`. */
function batch(partition: number, from: number, count: number, at = 0): FetchedBatch {
  const offsets = Array.from({ length: count }, (_, i) => from + i);
  return fetchedBatch({
    topic: 't',
    partition,
    packed: packBuffers(
      offsets.map((offset) => Buffer.from(`${partition}:${offset}`)),
      offsets.map((offset) => (offset % 2 === 0 ? Buffer.from(`k${offset}`) : null)),
    ),
    timestamps: Float64Array.from(offsets, (offset) => 1_000 + offset),
    offsets,
    fetchedAt: at,
  });
}

test("a batch pushed while its partition's earlier one waits joins it, up to the record limit; others queue apart", () => {
  const queue = new FetchedBatches(10);
  queue.push(batch(0, 0, 4, 5));
  queue.push(batch(1, 0, 3, 6));
  queue.push(batch(0, 4, 4, 7));
  // Past the limit: a batch of its own.
  queue.push(batch(0, 8, 3, 8));
  assert.equal(queue.length, 3);
  assert.equal(queue.records, 14);
  const first = queue.shift();
  assert.deepEqual(first?.offsets, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(first !== undefined);
  assert.deepEqual(
    first.offsets.map((_, i) => String(packedValue(first.packed, i))),
    first.offsets.map((offset) => `0:${offset}`),
  );
  assert.deepEqual(
    first.offsets.map((_, i) => packedKey(first.packed, i)?.toString() ?? null),
    ['k0', null, 'k2', null, 'k4', null, 'k6', null],
  );
  assert.deepEqual([...(first?.timestamps ?? [])], [1_000, 1_001, 1_002, 1_003, 1_004, 1_005, 1_006, 1_007]);
  // Its latency starts at the older fetch; dead letters name each record's own offset.
  assert.equal(first?.fetchedAt, 5);
  assert.deepEqual(first?.position(6), { topic: 't', partition: 0, offset: '6' });
  assert.deepEqual(queue.shift()?.offsets, [0, 1, 2]);
  assert.deepEqual(queue.shift()?.offsets, [8, 9, 10]);
  assert.equal(queue.shift(), undefined);
});

test('taken in queue order, each partition gets its records once each, in offset order, in batches within the limit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.oneof(fc.record({ partition: fc.integer({ min: 0, max: 3 }), count: fc.integer({ min: 1, max: 12 }) }), fc.constant('take' as const)), {
        maxLength: 80,
      }),
      (limit, steps) => {
        const queue = new FetchedBatches(limit);
        const next = new Map<number, number>();
        const taken = new Map<number, number[]>();
        const take = () => {
          const got = queue.shift();
          if (got === undefined) return;
          // A merge never makes a batch over the limit (a batch fetched over it stays as it came).
          assert.ok(recordCount(got) <= Math.max(limit, 12));
          // Values, keys, timestamps and positions stay with their offsets.
          got.offsets.forEach((offset, i) => {
            assert.equal(String(packedValue(got.packed, i)), `${got.partition}:${offset}`);
            assert.equal(packedKey(got.packed, i)?.toString() ?? null, offset % 2 === 0 ? `k${offset}` : null);
            assert.equal(got.timestamps[i], 1_000 + offset);
            assert.deepEqual(got.position(i), { topic: 't', partition: got.partition, offset: String(offset) });
          });
          taken.set(got.partition, [...(taken.get(got.partition) ?? []), ...got.offsets]);
        };
        for (const step of steps) {
          if (step === 'take') take();
          else {
            const from = next.get(step.partition) ?? 0;
            queue.push(batch(step.partition, from, step.count));
            next.set(step.partition, from + step.count);
          }
        }
        while (queue.length > 0) take();
        for (const [partition, end] of next)
          assert.deepEqual(
            taken.get(partition),
            Array.from({ length: end }, (_, i) => i),
          );
      },
    ),
  );
});

test('a partition given up drops its waiting batches, merged ones too', () => {
  const queue = new FetchedBatches(100);
  queue.push(batch(0, 0, 2));
  queue.push(batch(1, 0, 2));
  queue.push(batch(0, 2, 2));
  queue.dropWhere((partition) => partition === 0);
  assert.equal(queue.records, 2);
  assert.equal(queue.shift()?.partition, 1);
});
