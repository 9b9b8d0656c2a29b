/**
 * A shard in its own thread is handed every task as it is submitted, many at
 * once (coordinator/thread-shard.ts): they must still run in submission
 * order, from the first ones (queued while the thread starts) on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThreadShard } from '../../../src/coordinator/thread-shard.js';
import { linesTask, type ProcessResult, type StatsResult } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

const setup = shardSetup(rulesConfig({ window: { size: 20 }, rules: [{ id: 'hot', type: 'threshold', above: 80 }] }));
const line = (temperature: number, ts: number) => JSON.stringify({ zone_id: 'z', device_id: 'd', temperature, ts });

test('tasks handed to the worker all at once run in submission order, and each answer is its own task', async (t) => {
  const shard = new ThreadShard(0, setup, 4);
  t.after(() => shard.close());
  // One zone, hot and normal in turns: every reading raises an alert, and the zone numbers its readings (seq) in the order it sees them.
  const tasks = Array.from({ length: 400 }, (_, i) => linesTask([line(i % 2 === 0 ? 90 : 50, 1_000 + i)]));
  const answers = tasks.map((task) => shard.run<ProcessResult>(task));
  // A task of another kind, submitted among them, runs in its place too.
  const stats = shard.run<StatsResult>({ kind: 'stats' });
  const later = shard.run<ProcessResult>(linesTask([line(90, 5_000)]));
  const seqs = (await Promise.all(answers)).map((result) => {
    assert.equal(result.alerts.length, 1);
    return (JSON.parse(result.alerts[0]?.text ?? '{}') as { seq: number }).seq;
  });
  assert.deepEqual(
    seqs,
    tasks.map((_, i) => i + 1),
  );
  assert.equal((await stats).accepted, tasks.length);
  assert.equal((await later).accepted, 1);
  assert.ok(shard.busyMs > 0);
  assert.equal(shard.queued, 0);
});
