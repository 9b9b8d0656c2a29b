import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counted, formatCount } from '../../../src/cli/wording.js';

test('counts: thousands separators, whole numbers', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1_234_567), '1,234,567');
  assert.equal(formatCount(2_004.6), '2,005');
});

test('counted: singular for one, plural otherwise, irregular plurals given', () => {
  assert.equal(counted(1, 'record'), '1 record');
  assert.equal(counted(0, 'record'), '0 records');
  assert.equal(counted(2, 'dead letter'), '2 dead letters');
  assert.equal(counted(15_960, 'alert'), '15,960 alerts');
  assert.equal(counted(1, 'partition'), '1 partition');
  assert.equal(counted(3, 'entry', 'entries'), '3 entries');
});
