import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TopN } from '../../../src/engine/top-n.js';

test('TopN keeps exactly the n greatest, best first, like a full sort', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }), fc.integer({ min: 0, max: 50 }), (values, n) => {
      const top = new TopN<number>(n, (a, b) => a > b);
      for (const value of values) top.offer(value);
      assert.deepEqual(top.sorted(), [...values].sort((a, b) => b - a).slice(0, n));
    }),
  );
});

test('wouldKeep says whether an offer would change the kept set', () => {
  const top = new TopN<number>(2, (a, b) => a > b);
  top.offer(5);
  assert.equal(top.wouldKeep(1), true, 'room left');
  top.offer(7);
  assert.equal(top.wouldKeep(4), false);
  assert.equal(top.wouldKeep(6), true);
});
