import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue } from '../../../src/delivery/queue.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('dropping: a push beyond the capacity drops the oldest, says how many, and keeps order', () => {
  const queue = new BoundedQueue<number>(5, true);
  assert.equal(queue.push(range(0, 3)), 0);
  assert.equal(queue.push(range(3, 8)), 3);
  assert.equal(queue.length, 5);
  assert.ok(queue.full);
  assert.deepEqual(queue.take(2), [3, 4]);
  assert.equal(queue.push(range(8, 20)), 10, 'a push larger than the capacity keeps only its newest');
  assert.deepEqual(queue.clear(), range(15, 20));
  assert.equal(queue.length, 0);
});

test('not dropping: it grows past the capacity (the owner holds producers back) and drops nothing', () => {
  const queue = new BoundedQueue<number>(3, false);
  assert.equal(queue.push(range(0, 10)), 0);
  assert.equal(queue.length, 10);
  assert.ok(queue.full);
  assert.deepEqual(queue.take(8), range(0, 8));
  assert.ok(!queue.full);
  assert.deepEqual(queue.take(8), [8, 9]);
});

test('taking from the front many times stays in order across compactions', () => {
  const queue = new BoundedQueue<number>(100_000, true);
  const seen: number[] = [];
  for (let round = 0; round < 50; round++) {
    queue.push(range(round * 1_000, (round + 1) * 1_000));
    seen.push(...queue.take(700));
  }
  seen.push(...queue.clear());
  assert.deepEqual(seen, range(0, 50_000));
});
