import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrderedDelivery } from '../../../src/io/ordered-delivery.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('OrderedDelivery: every byte written is settled once, whether delivered, dropped by fail(), or written after it', async () => {
  let settled = 0;
  const held: Array<() => void> = [];
  const delivered: number[][] = [];
  const delivery = new OrderedDelivery<number>({
    deliver: (records) => {
      delivered.push(records);
      return new Promise((resolve) => held.push(resolve));
    },
    bytesOf: (size) => size,
    chunkBytes: 100,
    lingerMs: 0,
    onSettled: (bytes) => {
      settled += bytes;
    },
  });
  assert.equal(delivery.write([5, 6]), 11);
  assert.equal(delivery.write([7]), 7);
  assert.equal(delivery.pendingBytes, 18, 'out and buffered');
  held.shift()?.();
  await turn();
  assert.equal(settled, 11, 'the first send is back');
  assert.deepEqual(delivered, [[5, 6], [7]]);
  assert.equal(delivery.write([8]), 8);
  delivery.fail(new Error('given up'));
  assert.equal(settled, 19, 'the buffered 8 dropped at once');
  assert.equal(delivery.write([9]), 9);
  assert.equal(settled, 28, 'written after the failure: never held');
  held.shift()?.();
  await delivery.settled();
  assert.equal(settled, 35, 'the send that was out settles too');
  assert.equal(delivery.pendingBytes, 0);
  await assert.rejects(delivery.flush(), /given up/);
  assert.deepEqual(delivered, [[5, 6], [7]], 'nothing sent after the failure');
});

test('OrderedDelivery: a delivery that fails drops and settles what was written meanwhile, and flush says why', async () => {
  let settled = 0;
  const held: Array<(error?: Error) => void> = [];
  const delivered: number[][] = [];
  const delivery = new OrderedDelivery<number>({
    deliver: (records) => {
      delivered.push(records);
      return new Promise((resolve, reject) => held.push((error) => (error === undefined ? resolve() : reject(error))));
    },
    bytesOf: (size) => size,
    chunkBytes: 100,
    onSettled: (bytes) => {
      settled += bytes;
    },
  });
  delivery.write([3]);
  assert.deepEqual(delivered, [], 'without a linger: waits for a chunk or a flush');
  const flushed = delivery.flush();
  assert.deepEqual(delivered, [[3]]);
  delivery.write([4, 5]);
  held.shift()?.(new Error('broker refused'));
  await assert.rejects(flushed, /broker refused/);
  assert.equal(settled, 12, 'the failed 3 and the 4 + 5 written while it was out');
  assert.equal(delivery.pendingBytes, 0);
  assert.deepEqual(delivered, [[3]], 'nothing after the failure');
});
