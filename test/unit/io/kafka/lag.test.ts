import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LagTracker, type LogEnds, type OffsetReader } from '../../../../src/io/kafka/lag.js';

/** A broker and a consumer the test moves by hand. */
function world(options: { fromBeginning?: boolean } = {}) {
  const ends = new Map<number, LogEnds>();
  const committed = new Map<number, number>();
  const positions = new Map<number, number>();
  const assigned = new Set<number>();
  const asked = { ends: 0, committed: 0 };
  let failing = false;
  const reader: OffsetReader = {
    async ends() {
      asked.ends++;
      if (failing) throw new Error('broker away');
      return new Map(ends);
    },
    async committed() {
      asked.committed++;
      if (failing) throw new Error('broker away');
      return new Map(committed);
    },
  };
  const tracker = new LagTracker(reader, {
    assigned: () => assigned,
    position: (partition) => positions.get(partition),
    fromBeginning: options.fromBeginning ?? true,
  });
  return { tracker, ends, committed, positions, assigned, asked, fail: (value: boolean) => (failing = value) };
}

describe('LagTracker', () => {
  test('unknown until the first poll, then every assigned partition counts, delivered or not', async () => {
    const w = world();
    w.assigned.add(0).add(1).add(2);
    w.ends.set(0, { low: 0, high: 100 }).set(1, { low: 5, high: 50 }).set(2, { low: 0, high: 30 }).set(3, { low: 0, high: 999 });
    w.committed.set(0, 10);
    assert.equal(w.tracker.total(), undefined, 'no poll yet: not 0');

    await w.tracker.poll();
    // 0 from its commit, 1 from its first record (no commit, fromBeginning), 2 likewise; 3 is not ours.
    assert.deepEqual(
      w.tracker.byPartition(),
      new Map([
        [0, 90],
        [1, 45],
        [2, 30],
      ]),
    );
    assert.equal(w.tracker.total(), 165);
  });

  test('a group without commits that starts at the end has no lag on partitions it has not read', async () => {
    const w = world({ fromBeginning: false });
    w.assigned.add(0);
    w.ends.set(0, { low: 0, high: 500 });
    await w.tracker.poll();
    assert.equal(w.tracker.total(), 0);
  });

  test("the consumer's position takes over once it reads; a fetch's high watermark is fresher than the poll", async () => {
    const w = world();
    w.assigned.add(0).add(1);
    w.ends.set(0, { low: 0, high: 100 }).set(1, { low: 0, high: 100 });
    await w.tracker.poll();
    assert.equal(w.tracker.total(), 200);

    w.positions.set(0, 60);
    assert.equal(w.tracker.total(), 140);
    w.tracker.sawHighWatermark(0, 130);
    assert.deepEqual(
      w.tracker.byPartition(),
      new Map([
        [0, 70],
        [1, 100],
      ]),
    );
    w.tracker.sawHighWatermark(0, 120);
    assert.equal(w.tracker.byPartition().get(0), 70, 'an older fetch does not lower the end');
  });

  test('committed offsets are asked only while some assigned partition has no position', async () => {
    const w = world();
    w.assigned.add(0);
    w.ends.set(0, { low: 0, high: 10 });
    await w.tracker.poll();
    assert.deepEqual(w.asked, { ends: 1, committed: 1 });
    w.positions.set(0, 4);
    await w.tracker.poll();
    assert.deepEqual(w.asked, { ends: 2, committed: 1 });
  });

  test('a partition assigned later is unknown until polled; a revoked one stops counting', async () => {
    const w = world();
    w.assigned.add(0);
    w.ends.set(0, { low: 0, high: 10 }).set(1, { low: 0, high: 20 });
    w.positions.set(0, 10);
    await w.tracker.poll();
    assert.equal(w.tracker.total(), 0);

    // Its end is known from the last poll, but not where it starts (a commit?) until the next one.
    w.assigned.add(1);
    assert.equal(w.tracker.total(), undefined);
    assert.deepEqual(w.tracker.byPartition(), new Map([[0, 0]]));
    await w.tracker.poll();
    assert.equal(w.tracker.total(), 20);
    w.assigned.delete(0);
    assert.deepEqual(w.tracker.byPartition(), new Map([[1, 20]]));
  });

  test('a failed poll keeps the last values and does not throw; one round at a time, and one more if asked meanwhile', async () => {
    const w = world();
    w.assigned.add(0);
    w.ends.set(0, { low: 0, high: 10 });
    await w.tracker.poll();
    w.fail(true);
    w.ends.set(0, { low: 0, high: 50 });
    await w.tracker.poll();
    assert.equal(w.tracker.total(), 10);
    w.fail(false);
    const asked = w.asked.ends;
    const [first, second, third] = [w.tracker.poll(), w.tracker.poll(), w.tracker.poll()];
    assert.equal(second, third, 'asked twice meanwhile: one more round');
    await first;
    assert.equal(w.tracker.total(), 50);
    await second;
    assert.equal(w.asked.ends, asked + 2);
  });

  test('start() polls at once and every interval; stop() ends it', async () => {
    const w = world();
    w.assigned.add(0);
    w.ends.set(0, { low: 0, high: 7 });
    const tracker = new LagTracker(
      { ends: async () => new Map(w.ends), committed: async () => new Map() },
      { assigned: () => w.assigned, position: () => undefined, fromBeginning: true },
      10,
    );
    tracker.start();
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(tracker.total(), 7);
    w.ends.set(0, { low: 0, high: 9 });
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(tracker.total(), 9);
    tracker.stop();
  });
});
