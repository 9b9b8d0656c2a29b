import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentFirings } from '../../../src/observe/recent-firings.js';

const MINUTE = 60_000;

test('recent firings: per rule, the last hour only, minute by minute, old minutes recycled', () => {
  const firings = new RecentFirings(60);
  const start = 1_000 * MINUTE;
  firings.add('hot', start);
  firings.add('hot', start + 30_000);
  firings.add('hot', start + 59 * MINUTE);
  firings.add('cold', start + 10 * MINUTE);
  assert.equal(firings.count('hot', start + 59 * MINUTE), 3);
  assert.equal(firings.count('cold', start + 59 * MINUTE), 1);
  assert.equal(firings.count('other', start), 0);
  // An hour after the first minute, it is out of the window; the one at minute 59 is still in.
  assert.equal(firings.count('hot', start + 60 * MINUTE), 1);
  // Minute 60 reuses minute 0's slot: the old count does not come back.
  firings.add('hot', start + 60 * MINUTE);
  assert.equal(firings.count('hot', start + 60 * MINUTE), 2);
  assert.equal(firings.count('hot', start + 200 * MINUTE), 0, 'nothing lasts past the hour');
});
