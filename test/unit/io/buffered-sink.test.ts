import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { BufferedSink, type BufferedSinkOptions } from '../../../src/io/buffered-sink.js';
import type { OutRecord } from '../../../src/io/types.js';

/** A sink whose deliveries are held until the test lets them go, recording what each carried. */
class HeldSink extends BufferedSink {
  protected readonly name = 'held';
  readonly deliveries: string[][] = [];
  private releases: Array<(error?: Error) => void> = [];
  /** Deliver at once instead of holding. */
  instant = false;

  constructor(options: BufferedSinkOptions) {
    super(options);
  }

  protected deliver(records: OutRecord[]): Promise<void> {
    this.deliveries.push(records.map((record) => record.value));
    if (this.instant) return Promise.resolve();
    return new Promise((resolve, reject) => this.releases.push((error) => (error === undefined ? resolve() : reject(error))));
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }

  /** Lets the oldest held delivery finish (or fail). */
  async settle(error?: Error): Promise<void> {
    const release = this.releases.shift();
    assert.ok(release !== undefined, 'a delivery is out');
    release(error);
    await turn();
  }

  get out(): number {
    return this.releases.length;
  }
}

/** Lets every promise callback queued so far run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const record = (value: string): OutRecord => ({ key: 'k', value });

test('BufferedSink: with linger 0 the first write goes at once; writes while it is out go together in the next', async () => {
  const sink = new HeldSink({ lingerMs: 0 });
  sink.write([record('a')]);
  assert.deepEqual(sink.deliveries, [['a']]);
  sink.write([record('b')]);
  sink.write([record('c'), record('d')]);
  assert.equal(sink.out, 1, 'one delivery at a time');
  await sink.settle();
  assert.deepEqual(sink.deliveries, [['a'], ['b', 'c', 'd']]);
  await sink.settle();
  assert.equal(sink.out, 0);
  const flushed = sink.flush();
  await flushed;
  assert.deepEqual(sink.deliveries, [['a'], ['b', 'c', 'd']], 'nothing left to deliver');
});

test('BufferedSink: a linger waits for company only while no delivery is out', async () => {
  const sink = new HeldSink({ lingerMs: 20 });
  sink.write([record('a')]);
  assert.deepEqual(sink.deliveries, [], 'lingering');
  // The linger's timer: at least 20 ms, however late a loaded machine runs it.
  for (const started = performance.now(); sink.deliveries.length === 0 && performance.now() - started < 5_000; ) await sleep(5);
  assert.deepEqual(sink.deliveries, [['a']]);
  sink.write([record('b')]);
  await sink.settle();
  assert.deepEqual(sink.deliveries, [['a'], ['b']], 'written while a delivery was out: sent as soon as it was back, without a linger');
  await sink.settle();
});

test('BufferedSink: without a linger, records wait for a full chunk or a flush', async () => {
  const sink = new HeldSink({ chunkBytes: 10 });
  sink.instant = true;
  sink.write([record('ab')]);
  await sleep(20);
  assert.deepEqual(sink.deliveries, []);
  sink.write([record('cdefgh')]);
  assert.deepEqual(sink.deliveries, [['ab', 'cdefgh']], 'k + value: 3 + 7 bytes make a chunk');
  sink.write([record('i')]);
  await sink.flush();
  assert.deepEqual(sink.deliveries, [['ab', 'cdefgh'], ['i']]);
});

test('BufferedSink: a flush waits for what was written before it, not for what is written after', async () => {
  const sink = new HeldSink({ lingerMs: 0 });
  sink.write([record('a')]);
  sink.write([record('b')]);
  let flushed = false;
  const flush = sink.flush().then(() => {
    flushed = true;
  });
  // A steady stream keeps writing: the flush must still end once a and b are delivered.
  await sink.settle();
  sink.write([record('c')]);
  assert.equal(flushed, false, 'b is not delivered yet');
  await sink.settle();
  await flush;
  assert.equal(flushed, true);
  assert.equal(sink.out, 1, 'c is on its way, the flush did not wait for it');
  await sink.settle();
});

test('BufferedSink: a failed delivery fails flush and ready, and nothing after it is delivered', async () => {
  const sink = new HeldSink({ lingerMs: 0 });
  sink.write([record('a')]);
  sink.write([record('b')]);
  await sink.settle(new Error('broker gone'));
  await assert.rejects(sink.flush(), /cannot write to held/);
  await assert.rejects(sink.ready(), /cannot write to held/);
  assert.deepEqual(sink.deliveries, [['a']]);
});

test('BufferedSink: ready waits while more than the high water mark is buffered or out', async () => {
  const sink = new HeldSink({ lingerMs: 0, highWaterBytes: 4 });
  sink.write([record('abcd')]);
  let ready = false;
  const waiting = sink.ready().then(() => {
    ready = true;
  });
  await sleep(5);
  assert.equal(ready, false);
  await sink.settle();
  await waiting;
  assert.equal(ready, true);
});

test('BufferedSink: any writes and delivery timings give every record once, in order, no delivery over a chunk unless one record is', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 5 }), { maxLength: 30 }),
      fc.array(fc.boolean(), { maxLength: 60 }),
      fc.constantFrom(0, undefined),
      async (writes, settleAfter, lingerMs) => {
        const sink = new HeldSink({ chunkBytes: 16, ...(lingerMs === undefined ? {} : { lingerMs }) });
        let n = 0;
        const expected: string[] = [];
        for (const [i, sizes] of writes.entries()) {
          const records = sizes.map((size) => record(`${n++}`.padEnd(size, '.')));
          expected.push(...records.map((r) => r.value));
          sink.write(records);
          if (settleAfter[i] === true && sink.out > 0) await sink.settle();
        }
        let flushed = false;
        const flush = sink.flush().then(() => {
          flushed = true;
        });
        while (!flushed) await (sink.out > 0 ? sink.settle() : turn());
        await flush;
        assert.deepEqual(sink.deliveries.flat(), expected);
        for (const delivery of sink.deliveries) {
          const bytes = delivery.reduce((sum, value) => sum + value.length + 1, 0);
          assert.ok(bytes <= 16 || delivery.length === 1, `a delivery of ${bytes} bytes`);
        }
      },
    ),
    { numRuns: 100 },
  );
});
