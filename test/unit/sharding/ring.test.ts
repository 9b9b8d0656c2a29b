import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { hashString } from '../../../src/sharding/hash.js';
import { HashRing } from '../../../src/sharding/ring.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `zone-${i}`);

describe('HashRing', () => {
  test('ownerOf is deterministic across instances and always in range', () => {
    for (let n = 1; n <= 8; n++) {
      const a = new HashRing(n);
      const b = new HashRing(n);
      for (const key of KEYS.slice(0, 2_000)) {
        const owner = a.ownerOf(key);
        assert.ok(Number.isInteger(owner) && owner >= 0 && owner < n, `owner ${owner} of ${key} with ${n} shards`);
        assert.equal(a.ownerOf(key), owner, 'same instance, same answer');
        assert.equal(b.ownerOf(key), owner, 'another instance, same answer');
      }
    }
  });

  test('ownerOfHash covers the wrap-around ends of the circle', () => {
    const ring = new HashRing(5);
    for (const hash of [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
      const owner = ring.ownerOfHash(hash);
      assert.ok(owner >= 0 && owner < 5, `owner ${owner} of hash ${hash}`);
    }
    // Past the last point the key wraps to the first point's owner, same as hash 0.
    assert.equal(ring.ownerOfHash(0xffffffff), ring.ownerOfHash(0));
  });

  test('property: the bucket table gives the owner the binary search gives, for any hash, the points themselves and their neighbours included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom(1, 2, 16, 128, 4_096),
        fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 200 }),
        (shards, virtualNodes, hashes) => {
          const ring = new HashRing(shards, virtualNodes);
          // The ring's points (placed as the constructor places them), each with the hashes either side and the bucket edges around it.
          const points = Array.from({ length: shards * virtualNodes }, (_, i) => hashString(`shard-${Math.floor(i / virtualNodes)}#${i % virtualNodes}`));
          const near = points.flatMap((point) => [point - 1, point, point + 1, point & 0xffff0000, (point | 0xffff) >>> 0, ((point & 0xffff0000) - 1) >>> 0]);
          for (const hash of [...hashes, ...near, 0, 0xffffffff].filter((h) => h >= 0 && h <= 0xffffffff)) {
            assert.equal(ring.ownerOfHash(hash), ring.searchOwner(hash), `hash ${hash}, ${shards} shards × ${virtualNodes}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a single shard owns everything', () => {
    const ring = new HashRing(1);
    for (const key of KEYS.slice(0, 500)) assert.equal(ring.ownerOf(key), 0);
  });

  test('10,000 keys spread within ±35% of the mean for N = 2..8 (128 virtual nodes)', () => {
    for (let n = 2; n <= 8; n++) {
      const ring = new HashRing(n, 128);
      const counts = new Array<number>(n).fill(0);
      for (const key of KEYS) counts[ring.ownerOf(key)] = (counts[ring.ownerOf(key)] as number) + 1;
      const mean = KEYS.length / n;
      for (let s = 0; s < n; s++) {
        const c = counts[s] as number;
        assert.ok(Math.abs(c - mean) <= 0.35 * mean, `N=${n}: shard ${s} has ${c} keys, mean ${mean.toFixed(0)} (counts ${counts.join(',')})`);
      }
    }
  });

  test('going from N to N+1 shards moves about 1/(N+1) of keys, all of them to the new shard', () => {
    for (let n = 1; n <= 7; n++) {
      const before = new HashRing(n);
      const after = new HashRing(n + 1);
      let moved = 0;
      for (const key of KEYS) {
        const from = before.ownerOf(key);
        const to = after.ownerOf(key);
        if (from !== to) {
          moved++;
          assert.equal(to, n, `N=${n}: ${key} moved from shard ${from} to old shard ${to}, not to the new shard ${n}`);
        }
      }
      const share = moved / KEYS.length;
      const expected = 1 / (n + 1);
      assert.ok(
        share >= 0.5 * expected && share <= 1.6 * expected,
        `N=${n}→${n + 1}: moved ${(share * 100).toFixed(1)}% of keys, expected about ${(expected * 100).toFixed(1)}%`,
      );
    }
  });

  test('the constructor rejects zero, negative and fractional shard counts', () => {
    assert.throws(() => new HashRing(0), RangeError);
    assert.throws(() => new HashRing(-1), RangeError);
    assert.throws(() => new HashRing(1.5), RangeError);
    assert.throws(() => new HashRing(Number.NaN), RangeError);
    assert.equal(new HashRing(3).shards, 3);
  });
});
