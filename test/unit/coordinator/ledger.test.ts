/**
 * The ledger's commits: one at a time, and callers arriving while one runs
 * share the next, which starts after them and so covers what they wrote; a
 * partition resumed at a snapshot ahead of its group is committed there.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CommitOutcome, Ledger, type OutputChannel } from '../../../src/coordinator/ledger.js';
import { RunStats } from '../../../src/coordinator/stats.js';
import type { BatchOutputs, SourceBatch } from '../../../src/io/types.js';

const NO_OUTPUTS: BatchOutputs = { alerts: [], deadLetters: [], shadow: [], replayedAlerts: [] };

function batch(partition: number, offsets: number[]): SourceBatch {
  return {
    partition,
    values: offsets.map(() => Buffer.from('{}')),
    keys: null,
    timestamps: new Float64Array(offsets.length),
    position: (i) => ({ topic: 'readings', partition, offset: String(offsets[i]) }),
    offsets,
  };
}

/** A channel whose commits finish only when the test lets them. */
class SlowChannel implements OutputChannel {
  readonly transactional = false;
  readonly commits: Array<ReadonlyMap<number, number>> = [];
  private release: Array<() => void> = [];

  write(): void {}
  async ready(): Promise<void> {}

  /** Partitions the next commits leave out (as a source does during a rebalance). */
  skip: number[] = [];

  commit(positions: ReadonlyMap<number, number>): Promise<CommitOutcome> {
    this.commits.push(new Map(positions));
    const skipped = this.skip;
    return new Promise((resolve) => this.release.push(() => resolve({ lost: [], skipped })));
  }

  /** Lets the oldest commit finish. */
  finishOne(): void {
    this.release.shift()?.();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ledger commits', () => {
  test('commits asked for while one runs share one next commit, which covers every batch written before it starts', async () => {
    const channel = new SlowChannel();
    const ledger = new Ledger(channel, new RunStats(1));
    ledger.finish(ledger.open(batch(0, [0, 1]), 0), NO_OUTPUTS);
    const first = ledger.commit();
    await tick();
    assert.equal(channel.commits.length, 1, 'the first commit runs');

    // A commit timer and a snapshot keep asking while the first is stuck on a slow flush.
    const waiting = Array.from({ length: 20 }, () => ledger.commit());
    ledger.finish(ledger.open(batch(0, [2, 3]), 0), NO_OUTPUTS);
    assert.equal(new Set(waiting).size, 1, 'every caller shares the one waiting commit');

    channel.finishOne();
    await first;
    await tick();
    assert.equal(channel.commits.length, 2, 'one commit followed, not twenty');
    assert.equal(channel.commits[1]?.get(0), 4, 'it covers the batch written while the first ran');
    channel.finishOne();
    await Promise.all(waiting);
    assert.equal(ledger.committedUntil(0), 4);

    // Once that one has started, a new caller gets a commit of its own (it may have written since).
    const later = ledger.commit();
    assert.notEqual(later, waiting[0]);
    await tick();
    channel.finishOne();
    await later;
    assert.equal(channel.commits.length, 3);
  });

  test('positions owed to the group (a snapshot ahead of it, a commit the source left out) are committed without waiting for a record', async () => {
    const channel = new SlowChannel();
    const ledger = new Ledger(channel, new RunStats(1));
    // A zombie's late commit moved partition 0 back to 40; its snapshot (saved after a commit at 145) is at 145.
    ledger.resume(0, 40, 145);
    ledger.resume(1, 10);
    const commit = ledger.commit();
    await tick();
    channel.finishOne();
    await commit;
    assert.deepEqual([...(channel.commits[0] ?? [])], [[0, 145]], 'the quiet partition moves to its snapshot; the other has nothing to commit');
    assert.equal(ledger.committedUntil(0), 145);

    const next = ledger.commit();
    await tick();
    channel.finishOne();
    await next;
    assert.deepEqual([...(channel.commits[1] ?? [])], [], 'once is enough');

    // A commit the source leaves out (a rebalance under way, the partition kept): asked for again at the next.
    ledger.resume(3, 5, 60);
    channel.skip = [3];
    const skippedOnce = ledger.commit();
    await tick();
    channel.finishOne();
    await skippedOnce;
    channel.skip = [];
    assert.equal(ledger.committedUntil(3), 5, 'not committed while the source left it out');
    const again = ledger.commit();
    await tick();
    channel.finishOne();
    await again;
    assert.deepEqual([...(channel.commits.at(-1) ?? [])], [[3, 60]]);
    assert.equal(ledger.committedUntil(3), 60);

    // A batch's position the source leaves out is asked for again, though no batch follows it.
    ledger.resume(4, 0);
    ledger.finish(ledger.open(batch(4, [0, 1, 2]), 0), NO_OUTPUTS);
    channel.skip = [4];
    const left = ledger.commit();
    await tick();
    channel.finishOne();
    await left;
    channel.skip = [];
    assert.equal(ledger.committedUntil(4), 0);
    const retried = ledger.commit();
    await tick();
    channel.finishOne();
    await retried;
    assert.deepEqual([...(channel.commits.at(-1) ?? [])], [[4, 3]]);
    assert.equal(ledger.committedUntil(4), 3);

    // Revoked before its commit: the new owner decides.
    ledger.resume(2, 0, 50);
    ledger.forget([2]);
    const after = ledger.commit();
    await tick();
    channel.finishOne();
    await after;
    assert.deepEqual([...(channel.commits.at(-1) ?? [])], []);
  });
});
