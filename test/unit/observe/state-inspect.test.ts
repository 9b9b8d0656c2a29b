import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard } from '../../../src/engine/shard.js';
import { applyUpdate, unpackUpdates } from '../../../src/engine/zone-image.js';
import { findStoredZone, formatStoredZone, type SnapshotReader } from '../../../src/observe/state-inspect.js';
import { linesTask } from '../../../src/protocol/messages.js';
import type { PartitionSnapshot } from '../../../src/state/types.js';
import { rulesConfig } from '../../helpers/rules.js';

const RULES = rulesConfig({
  window: { size: 4, pane: 1_000 },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'too-hot-preview', type: 'threshold', above: 80, shadow: true },
  ],
});

/** Real encoded zones (as a worker exports them for a snapshot), per partition, behind the store's read interface. */
function storeOf(partitions: Record<number, string[]>): SnapshotReader {
  const snapshots = new Map<number, PartitionSnapshot>();
  for (const [partition, lines] of Object.entries(partitions)) {
    const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: RULES });
    shard.process(linesTask(lines, Number(partition)));
    const updates = shard.snapshot([]).partitions.flatMap((part) => part.chunks.flatMap(unpackUpdates));
    const images = updates.map((update) => applyUpdate(undefined, update));
    snapshots.set(Number(partition), { offset: lines.length, zones: new Map(updates.map((update, i) => [update.zoneId, images[i] ?? new Uint8Array()])) });
  }
  return {
    partitions: async () => [...snapshots.keys()],
    snapshotOf: async (p) => (snapshots.has(p) ? { offset: snapshots.get(p)?.offset ?? 0, converted: false } : null),
    fetch: async (p, ids) => ids.map((id) => snapshots.get(p)?.zones.get(id) ?? null),
  };
}

const reading = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });

test('state inspect finds a zone in the partition snapshots and shows its statistics', async () => {
  const store = storeOf({
    0: [reading('other', 50, 0)],
    // The zone moved partition: the snapshot with the later seq wins.
    1: [reading('boiler', 70, 0)],
    2: [70, 72, 74, 76, 95].map((t, i) => reading('boiler', t, i * 1000)),
  });
  const stored = await findStoredZone(store, RULES, 'boiler');
  assert.ok(stored !== undefined);
  assert.equal(stored.partition, 2);
  assert.equal(stored.offset, 5);
  assert.equal(stored.zone.seq, 5);
  assert.equal(stored.zone.count, 4);
  assert.deepEqual(Array.from(stored.zone.values), [72, 74, 76, 95]);
  assert.equal(stored.zone.mean, 79.25);
  assert.deepEqual(stored.zone.firing, ['too-hot']);
  assert.deepEqual(stored.zone.shadowFiring, ['too-hot-preview']);
  const text = formatStoredZone(stored, 2);
  assert.match(text, /zone boiler \(partition 2, snapshot resumes at offset 5\)/);
  assert.match(text, /mean +79\.25\n/);
  assert.match(text, /firing +too-hot\n/);
  assert.match(text, /shadow +too-hot-preview \(firing, shadow rules\)\n/);
  assert.match(text, /latest +76 95 \(oldest first\)/);
  assert.equal(await findStoredZone(store, RULES, 'nowhere'), undefined);
});
