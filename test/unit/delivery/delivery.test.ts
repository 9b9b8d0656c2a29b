/**
 * One destination's queue and send loop, against a transport the test
 * scripts: overflow (drop-oldest, block), retries and their backoff, giving
 * up, the re-send lane, and the drain at shutdown.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { Delivery, type DeliveryOptions, type Transport } from '../../../src/delivery/delivery.js';
import { SinkError } from '../../../src/errors.js';
import { waitFor } from '../../helpers/kafka.js';

function options(over: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return {
    sink: 'test',
    target: 'http://127.0.0.1:1',
    queueSize: 100,
    overflow: 'drop-oldest',
    batchSize: 10,
    lingerMs: 0,
    retry: { minDelayMs: 1, maxDelayMs: 5, maxAttempts: undefined },
    drainTimeoutMs: 1_000,
    ...over,
  };
}

/** A receiver the test controls: records every attempt; `answer` decides each one. */
class Receiver implements Transport<number> {
  readonly attempts: number[][] = [];
  readonly accepted: number[] = [];
  answer: (batch: readonly number[], attempt: number) => Promise<void> = async () => {};

  async send(batch: readonly number[], signal: AbortSignal): Promise<void> {
    this.attempts.push([...batch]);
    await Promise.race([
      this.answer(batch, this.attempts.length),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
    this.accepted.push(...batch);
  }
}

const failing = (retriable: boolean) => new SinkError(retriable ? 'busy (503)' : 'refused (400)', { retriable });

/** A gate the receiver waits at until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

function started<T>(t: TestContext, delivery: Delivery<T>): Delivery<T> {
  t.after(() => delivery.close());
  return delivery;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('overflow', () => {
  test('drop-oldest: a full queue drops its oldest alerts, counts them, and never waits', async (t) => {
    const receiver = new Receiver();
    const held = gate();
    receiver.answer = () => held.wait;
    const delivery = started(t, new Delivery(options({ queueSize: 20, batchSize: 5 }), receiver));
    delivery.enqueue(range(0, 5));
    await waitFor(() => receiver.attempts.length === 1, 'the first batch to be in flight');
    delivery.enqueue(range(5, 105));
    await delivery.ready();
    assert.equal(delivery.stats.dropped, 80);
    assert.equal(delivery.stats.queued, 20);
    held.open();
    await waitFor(() => receiver.accepted.length === 25, 'the queue to drain');
    assert.deepEqual(receiver.accepted, [...range(0, 5), ...range(85, 105)], 'the batch in flight, then the newest 20');
    assert.equal(delivery.stats.sent, 25);
  });

  test('block: ready() holds the producer back while the queue is full, and nothing is dropped', async (t) => {
    const receiver = new Receiver();
    const held = gate();
    receiver.answer = () => held.wait;
    const delivery = started(t, new Delivery(options({ queueSize: 20, batchSize: 5, overflow: 'block' }), receiver));
    delivery.enqueue(range(0, 5));
    await waitFor(() => receiver.attempts.length === 1, 'the first batch to be in flight');
    delivery.enqueue(range(5, 30));
    let room = false;
    const ready = delivery.ready().then(() => {
      room = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(room, false, 'no room while 25 wait in a queue of 20');
    held.open();
    await ready;
    await waitFor(() => receiver.accepted.length === 30, 'everything to be sent');
    assert.deepEqual(receiver.accepted, range(0, 30));
    assert.equal(delivery.stats.dropped, 0);
  });
});

describe('retries', () => {
  test('retriable failures are retried until the batch is accepted, and counted', async (t) => {
    const receiver = new Receiver();
    receiver.answer = async (_, attempt) => {
      if (attempt <= 3) throw failing(true);
    };
    const delivery = started(t, new Delivery(options(), receiver));
    delivery.enqueue([1, 2, 3]);
    await waitFor(() => receiver.accepted.length === 3, 'the batch to be accepted');
    assert.equal(receiver.attempts.length, 4);
    assert.deepEqual(receiver.attempts, [
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    assert.deepEqual({ sent: delivery.stats.sent, retried: delivery.stats.retried, failed: delivery.stats.failed }, { sent: 3, retried: 3, failed: 0 });
  });

  test('a refusal is not retried: the batch is given up as failed, and the next one goes', async (t) => {
    const receiver = new Receiver();
    receiver.answer = async (batch) => {
      if (batch.includes(1)) throw failing(false);
    };
    const delivery = started(t, new Delivery(options({ batchSize: 2 }), receiver));
    delivery.enqueue([1, 2, 3, 4]);
    await waitFor(() => receiver.accepted.length === 2, 'the second batch');
    assert.deepEqual(receiver.attempts, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual({ sent: delivery.stats.sent, retried: delivery.stats.retried, failed: delivery.stats.failed }, { sent: 2, retried: 0, failed: 2 });
  });

  test('retry.maxAttempts: a batch still failing after that many tries is given up', async (t) => {
    const receiver = new Receiver();
    receiver.answer = async (batch) => {
      if (batch.includes(1)) throw failing(true);
    };
    const delivery = started(t, new Delivery(options({ batchSize: 1, retry: { minDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } }), receiver));
    delivery.enqueue([1, 2]);
    await waitFor(() => receiver.accepted.length === 1, 'the second batch');
    assert.deepEqual(receiver.attempts, [[1], [1], [1], [2]]);
    assert.deepEqual({ retried: delivery.stats.retried, failed: delivery.stats.failed, sent: delivery.stats.sent }, { retried: 2, failed: 1, sent: 1 });
  });

  /** The waits between the attempts of one batch that fails `failures` times, on a mocked clock, with Math.random fixed. */
  async function waits(t: TestContext, random: number, failures: number): Promise<number[]> {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    t.mock.method(Math, 'random', () => random);
    const at: number[] = [];
    const receiver = new Receiver();
    receiver.answer = async (_, attempt) => {
      at.push(Date.now());
      if (attempt <= failures) throw failing(true);
    };
    const delivery = new Delivery(options({ retry: { minDelayMs: 100, maxDelayMs: 1_000, maxAttempts: undefined } }), receiver);
    delivery.enqueue([1]);
    for (let ms = 0; ms < 20_000 && receiver.accepted.length === 0; ms++) {
      t.mock.timers.tick(1);
      // Let the retry loop's promises settle between two ticks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    t.mock.timers.reset();
    await delivery.close();
    assert.equal(receiver.accepted.length, 1, 'accepted in the end');
    return at.slice(1).map((time, i) => time - (at[i] as number));
  }

  test('backoff: waits double from retry.minDelay up to retry.maxDelay, with jitter of up to another as much', async (t) => {
    assert.deepEqual(await waits(t, 0, 6), [100, 200, 400, 800, 1_000, 1_000], 'least jitter');
  });

  test('backoff with the most jitter: each wait up to twice the step, still capped at retry.maxDelay', async (t) => {
    const most = await waits(t, 0.999, 6);
    assert.deepEqual(
      most.map((ms) => Math.round(ms / 10) * 10),
      [200, 400, 800, 1_000, 1_000, 1_000],
    );
  });
});

describe('batching', () => {
  test('linger: alerts that trickle in wait up to lingerMs to share a request; a full batch goes at once', async (t) => {
    const receiver = new Receiver();
    const delivery = started(t, new Delivery(options({ batchSize: 4, lingerMs: 200 }), receiver));
    const sentAt: number[] = [];
    receiver.answer = async () => {
      sentAt.push(performance.now());
    };
    const start = performance.now();
    delivery.enqueue([1]);
    delivery.enqueue([2]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    delivery.enqueue([3]);
    await waitFor(() => receiver.accepted.length === 3, 'the lingering batch');
    assert.deepEqual(receiver.attempts, [[1, 2, 3]]);
    assert.ok((sentAt[0] as number) - start >= 190, 'it waited for more');
    const full = performance.now();
    delivery.enqueue([4, 5, 6, 7]);
    await waitFor(() => receiver.accepted.length === 7, 'the full batch');
    assert.deepEqual(receiver.attempts[1], [4, 5, 6, 7]);
    assert.ok((sentAt[1] as number) - full < 150, 'a full batch does not wait');
  });
});

describe('re-sends', () => {
  test('the re-send lane takes turns with the queue, and a new round replaces what was left of the last', async (t) => {
    const receiver = new Receiver();
    const held = gate();
    receiver.answer = (batch) => (batch[0] === 0 ? held.wait : Promise.resolve());
    const delivery = started(t, new Delivery(options({ batchSize: 2 }), receiver));
    delivery.enqueue([0]);
    await waitFor(() => receiver.attempts.length === 1, 'the first batch to be in flight');
    delivery.enqueue([1, 2, 3, 4]);
    delivery.resend([101, 102, 103, 104]);
    delivery.resend([201, 202, 203, 204]);
    held.open();
    await waitFor(() => receiver.accepted.length === 9, 'both lanes to be sent');
    assert.deepEqual(receiver.attempts, [[0], [201, 202], [1, 2], [203, 204], [3, 4]]);
    assert.equal(delivery.stats.sent, 5);
    assert.equal(delivery.stats.resent, 4);
  });
});

describe('shutdown', () => {
  test('close() sends what is queued, then stops', async () => {
    const receiver = new Receiver();
    receiver.answer = () => new Promise((resolve) => setTimeout(resolve, 5));
    const delivery = new Delivery(options({ batchSize: 3 }), receiver);
    delivery.enqueue(range(0, 10));
    await delivery.close();
    assert.deepEqual(receiver.accepted, range(0, 10));
    delivery.enqueue([99]);
    assert.equal(delivery.stats.queued, 0, 'nothing is taken after close');
  });

  test('a receiver that never answers: close() gives up after drainTimeout, counting what was left as dropped', async () => {
    const receiver = new Receiver();
    receiver.answer = () => new Promise(() => {});
    const delivery = new Delivery(options({ batchSize: 3, drainTimeoutMs: 50 }), receiver);
    delivery.enqueue(range(0, 10));
    await waitFor(() => receiver.attempts.length === 1, 'the first batch to be in flight');
    await delivery.close();
    assert.equal(receiver.accepted.length, 0);
    assert.equal(delivery.stats.dropped, 10, 'the batch in flight and the 7 queued');
  });
});
