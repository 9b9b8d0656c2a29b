/**
 * The router's hand-off (src/coordinator/router.ts): every record lands in
 * exactly one shard's task, the one the ring gives its zone, with its own
 * bytes, index and default ts, all tasks reading one shared copy of the
 * batch, whether the values lie apart or close together in one buffer (as
 * kafkajs's views into a fetch do).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KEY_REASON, Router } from '../../../src/coordinator/router.js';
import type { SourceBatch } from '../../../src/io/types.js';
import { HashRing } from '../../../src/sharding/ring.js';

/** Values as views into one buffer, `gap` bytes of framing between them (kafkajs's layout), or as buffers of their own. */
function batchOf(lines: readonly string[], keys: ReadonlyArray<string | null> | null, gap: number | 'apart'): SourceBatch {
  let values: Buffer[];
  if (gap === 'apart') values = lines.map((line) => Buffer.from(line));
  else {
    const whole = Buffer.concat(lines.flatMap((line) => [Buffer.alloc(gap, 0x2a), Buffer.from(line)]));
    let at = 0;
    values = lines.map((line) => {
      at += gap;
      const view = whole.subarray(at, at + Buffer.byteLength(line));
      at += Buffer.byteLength(line);
      return view;
    });
  }
  return {
    partition: 3,
    values,
    keys: keys === null ? null : keys.map((key) => (key === null ? null : Buffer.from(key))),
    timestamps: Float64Array.from(lines, (_, i) => 1_000 + i),
    position: (i) => ({ stream: 'test', index: i }),
  };
}

const line = (zone: string) => `{"device_id":"d","zone_id":${JSON.stringify(zone)},"temperature":1.5,"ts":7}`;

describe('router', () => {
  test('each record in one task, of its zone’s shard, with its bytes, index and default ts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,8}$/), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 60 }),
        fc.oneof(fc.constant<'apart'>('apart'), fc.integer({ min: 0, max: 100 })),
        fc.integer({ min: 1, max: 4 }),
        (zones, gap, shards) => {
          const ring = new HashRing(shards, 16);
          const lines = zones.map(line);
          const batch = batchOf(lines, null, gap);
          const routed = new Router(ring, false).route(batch);
          const seen = new Set<number>();
          const shared = new Set(routed.parts.map((part) => part.task.bytes.buffer));
          assert.equal(shared.size, 1, 'one shared copy for all shards');
          for (const part of routed.parts) {
            const { task } = part;
            assert.equal(task.partition, 3);
            assert.equal(part.count, task.records.length);
            task.records.forEach((record, k) => {
              assert.ok(!seen.has(record), `record ${record} twice`);
              seen.add(record);
              const bytes = Buffer.from(
                task.bytes.buffer,
                task.bytes.byteOffset + (task.starts[k] as number),
                (task.ends[k] as number) - (task.starts[k] as number),
              );
              assert.equal(bytes.toString('utf8'), lines[record]);
              assert.equal(task.defaultTs[k], 1_000 + record);
              assert.equal(part.shard, ring.ownerOf(zones[record] as string));
            });
            assert.deepEqual(
              [...task.records],
              [...task.records].sort((a, b) => a - b),
              'in source order',
            );
          }
          assert.equal(seen.size, lines.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('keys: mismatches counted, and with requireZoneKey refused before any worker', () => {
    const lines = [line('a'), line('b'), line('c'), 'not json'];
    const keys = ['a', 'x', null, null];
    const ring = new HashRing(2, 16);
    const lenient = new Router(ring, false).route(batchOf(lines, keys, 5));
    assert.equal(lenient.keyMismatches, 2);
    assert.deepEqual(lenient.refused, []);
    assert.equal(
      lenient.parts.reduce((sum, part) => sum + part.count, 0),
      4,
    );
    const strict = new Router(ring, true).route(batchOf(lines, keys, 5));
    assert.deepEqual(strict.refused, [1, 2]);
    assert.deepEqual(strict.parts.flatMap((part) => [...part.task.records]).sort(), [0, 3]);
    assert.match(KEY_REASON, /zone_id/);
  });
});
