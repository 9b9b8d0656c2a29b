/**
 * Checkpoints.ownSnapshot: tiering asks it whether the partition's offset,
 * read beside the images of evicted zones, is this process's snapshot; a
 * "no" recovers the partition (its readings are replayed). A "no" for this
 * process's own snapshot is a needless recovery, and with at-least-once,
 * repeated alerts. And how a cut's export is paced.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { Checkpoints, type Cut, EXPORT_PAUSE_MS } from '../../../src/coordinator/checkpoints.js';
import { shardOptions } from '../../../src/coordinator/engine.js';
import { Shards } from '../../../src/coordinator/shards.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { MemoryStateStore } from '../../../src/state/memory-store.js';
import type { SaveOutcome } from '../../../src/state/types.js';

/** A store whose saves are answered only when the test says so. */
class HeldStore extends MemoryStateStore {
  private held: Promise<void> = Promise.resolve();
  private release: () => void = () => {};
  /** The latest save's answer, as Checkpoints awaits it. */
  answer: Promise<SaveOutcome> = Promise.resolve('saved');

  hold(): void {
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  answerSave(): void {
    this.release();
  }

  override save(partition: number, chunks: readonly Uint8Array[], offset: number, previous: number | null, full: boolean): Promise<SaveOutcome> {
    const held = this.held;
    this.answer = super.save(partition, chunks, offset, previous, full).then(async (outcome) => {
      await held;
      return outcome;
    });
    return this.answer;
  }
}

// The workers are not asked anything here (saves of cuts with nothing exported); Checkpoints only needs them to exist.
const config = parseConfig(
  { engine: { workers: 1 }, source: { type: 'stdin' }, sink: { type: 'stdout' }, rules: [{ id: 'hot', type: 'threshold', above: 80 }] },
  { baseDir: '/', env: {} },
);
const shards = Shards.inProcess(shardOptions(config));
after(() => shards.close());

/** A cut of the one partition (a source without partitions: partition 0, epoch 1) at `offset`, with nothing exported. */
function cutAt(offset: number, number: number): Cut {
  return { offsets: new Map([[0, offset]]), updates: Promise.resolve([]), whole: new Set(), full: new Set(), epochs: new Map([[0, 1]]), startedAt: 0, number };
}

test("this process's snapshot is its own while saved, while saving, and to a read answered just before its save", async () => {
  const store = new HeldStore();
  const checkpoints = new Checkpoints(shards, store, undefined, (error) => assert.fail(String(error)));
  await checkpoints.save(cutAt(5, 1), () => 5);
  assert.equal(checkpoints.ownSnapshot(0, 5), true, 'saved');

  // Redis answers a read of the offset (5), then the save of 10 commits; their answers come on different connections,
  // and the save's is handled first.
  const readBeforeTheSave = await store.offsetOf(0);
  store.hold();
  const saving = checkpoints.save(cutAt(10, 2), () => 10);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(checkpoints.ownSnapshot(0, 10), true, 'while saving');
  // Handled in the same run of microtasks as the save's answer (after Checkpoints' own continuation): 10 is this process's.
  const atTheAnswer = store.answer.then(() => checkpoints.ownSnapshot(0, 10));
  store.answerSave();
  assert.equal(await atTheAnswer, true, 'as the save is answered');
  await saving;
  assert.equal(checkpoints.ownSnapshot(0, 10), true, 'saved again');
  assert.equal(checkpoints.ownSnapshot(0, readBeforeTheSave), true, 'a read answered just before the save, handled after it');

  assert.equal(checkpoints.ownSnapshot(0, 7), false, 'an offset this process never saved is another process snapshot');
  assert.equal(checkpoints.ownSnapshot(0, null), false, 'no snapshot at all (the store lost it)');
  assert.equal(checkpoints.ownSnapshot(1, 10), false, 'a partition this process does not own');
});

/** A shard runner that notes when each export slice was asked for. */
function sliceTimes(of: Shards): number[] {
  const times: number[] = [];
  const runner = of.runner(0);
  const run = runner.run.bind(runner);
  runner.run = (task, transfer) => {
    if (task.kind === 'snapshotSlice') times.push(performance.now());
    return run(task, transfer);
  };
  return times;
}

test('a paced cut rests between its export slices; a hurried one exports the same zones', async () => {
  const zones = 4_000;
  const lines = Array.from({ length: zones }, (_, i) => `{"device_id":"d","zone_id":"z${i}","temperature":${20 + (i % 7)},"ts":${1_000 + i}}\n`);
  const exported: number[] = [];
  for (const pace of ['paced', 'hurried'] as const) {
    const own = Shards.inProcess(shardOptions(config));
    try {
      const asked = sliceTimes(own);
      await own.run(0, linesTask(lines));
      const checkpoints = new Checkpoints(own, new MemoryStateStore(), undefined, (error) => assert.fail(String(error)));
      const cut = checkpoints.cut({ pacedForMs: 60_000 });
      if (pace === 'hurried') checkpoints.hurry();
      const updates = await cut.updates;
      exported.push(updates.reduce((sum, update) => sum + update.zones, 0));
      assert.ok(asked.length >= 2, `exported in slices (${asked.length} asked for): enough zones to take more than one`);
      const gaps = asked.slice(1).map((at, i) => at - (asked[i] as number));
      // Paced, each slice is asked for only after a rest (a timer may fire up to 1 ms early; a loaded machine only
      // lengthens the gaps). Hurried, no slice is asked for while pacing is on: checked on the state the rest depends
      // on, not on the gaps, which a loaded machine stretches (a median under 4 ms failed once in CI beside a bench).
      if (pace === 'paced') for (const [i, gap] of gaps.entries()) assert.ok(gap >= EXPORT_PAUSE_MS - 1, `slice ${i + 1} came without a rest`);
      else assert.equal((checkpoints as unknown as { pacedUntil: number }).pacedUntil, 0, 'hurried: pacing is off for the whole export');
    } finally {
      await own.close();
    }
  }
  assert.deepEqual(exported, [zones, zones], 'every zone, paced or not');
});
