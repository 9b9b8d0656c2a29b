import assert from 'node:assert/strict';
import { test } from 'node:test';
import { produceLine } from '../../../src/cli/produce.js';

test("produce's progress line: rate, sent, and what remains", () => {
  assert.equal(produceLine(51_605.4, 141_000, { readings: 159_000 }), '51,605 readings/s | 141,000 sent | 159,000 to go');
  assert.equal(produceLine(20_000, 1_000, { fileShare: 0.487 }), '20,000 readings/s | 1,000 sent | 48% of the file read');
  assert.equal(produceLine(0, 0, undefined), '0 readings/s | 0 sent');
});
