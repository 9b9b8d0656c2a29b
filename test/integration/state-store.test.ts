import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { legacyLayout } from '../../src/engine/legacy-image.js';
import { Shard } from '../../src/engine/shard.js';
import { imageHeader, snapshotIdentity, zoneImage } from '../../src/engine/zone-image.js';
import { linesTask } from '../../src/protocol/messages.js';
import { readPartition } from '../../src/state/read-partition.js';
import { RedisStateStore } from '../../src/state/redis-store.js';
import type { PartitionSnapshot } from '../../src/state/types.js';
import { readLegacySnapshot } from '../helpers/legacy.js';
import { rulesConfig } from '../helpers/rules.js';

const REDIS_URL = process.env.KLAXON_REDIS_URL ?? 'redis://127.0.0.1:16379';
const REDIS_CLUSTER = (process.env.KLAXON_REDIS_CLUSTER ?? '127.0.0.1:17001,127.0.0.1:17002,127.0.0.1:17003').split(',');
const RULES = rulesConfig({
  window: { size: 50, pane: 1_000 },
  rules: [
    { id: 'avg', type: 'window_avg', span: 20_000, abovePct: 5 },
    { id: 'z', type: 'zscore', k: 3, minSamples: 5 },
  ],
});
const prefix = `test-store-${randomUUID()}`;

const line = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });
// Zone ids that look like key parts must not confuse the key layout.
const ZONES = ['boiler', 'a:meta', 'ünï:çödé', '7'];

function feed(shard: Shard, round: number, partition: number): void {
  const lines = Array.from({ length: 40 }, (_, i) => line(ZONES[i % ZONES.length] as string, 40 + ((i * 7 + round) % 11), 1_000_000 + (round * 40 + i) * 300));
  shard.process(linesTask(lines, partition));
}

function storedImages(snapshot: PartitionSnapshot | null): Map<string, Uint8Array> {
  return new Map([...(snapshot?.zones ?? [])].map(([zoneId, image]) => [zoneId, new Uint8Array(image)]));
}

function liveImages(shard: Shard): Map<string, Uint8Array> {
  return new Map([...shard.zones].map(([zoneId, zone]) => [zoneId, zoneImage(zone, shard.book)]));
}

/**
 * The same store on one Redis and on a Redis Cluster. One Redis keeps the layout snapshots always had
 * (`prefix:topic:partition:…`, written by hand below); a Cluster's keys are hash-tagged per partition.
 */
for (const [name, target, zoneKey] of [
  ['one Redis', { url: REDIS_URL }, (partition: number, zoneId: string) => `${prefix}:readings:${partition}:zone:${zoneId}`],
  ['Redis Cluster', { cluster: REDIS_CLUSTER }, (partition: number, zoneId: string) => `{${prefix}:readings:${partition}}:zone:${zoneId}`],
] as const) {
  describe(name, () => {
    let redis: Redis | Cluster;
    let store: RedisStateStore;

    before(async () => {
      redis =
        'url' in target
          ? new Redis(target.url)
          : new Cluster(target.cluster.map((node) => ({ host: node.split(':')[0] ?? '', port: Number(node.split(':')[1]) })));
      store = await RedisStateStore.connect(target, prefix, 'readings', snapshotIdentity(RULES.window));
    });
    after(async () => {
      await store.reset();
      await store.close();
      redis.disconnect();
    });

    test('whole images, then changed ranges applied in Redis, load back as exactly the live zones', async () => {
      const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: RULES });
      let previous: number | null = null;
      const bytes: number[] = [];
      for (let round = 0; round < 6; round++) {
        feed(shard, round, 2);
        const [updates] = shard.snapshot([]).partitions;
        assert.ok(updates !== undefined);
        bytes.push(updates.bytes);
        assert.equal(await store.save(2, updates.chunks, round, previous, false), 'saved');
        previous = round;
      }
      const wholeBytes = [...liveImages(shard).values()].reduce((sum, image) => sum + image.byteLength, 0);
      assert.ok(Math.max(...bytes) < wholeBytes / 2, `snapshots write ranges (${bytes.join(', ')} bytes), not whole images (${wholeBytes} bytes)`);
      const loaded = await readPartition(store, 2);
      assert.equal(loaded?.offset, 5);
      assert.deepEqual(storedImages(loaded), liveImages(shard));
      assert.deepEqual(await store.partitions(), [2]);
    });

    test('a save on top of a snapshot it did not expect, or ranges for an image Redis lost, ask for a whole rewrite', async () => {
      const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: RULES });
      feed(shard, 0, 4);
      assert.equal(await store.save(4, shard.snapshot([]).partitions[0]?.chunks ?? [], 10, null, false), 'saved');
      feed(shard, 1, 4);
      const chunks = shard.snapshot([]).partitions[0]?.chunks ?? [];
      assert.equal(await store.save(4, chunks, 20, 99, false), 'resync');
      await redis.del(zoneKey(4, 'boiler'));
      assert.equal(await store.save(4, chunks, 20, 10, false), 'resync');
      // The rewrite: every zone whole, replacing what the partition held.
      feed(shard, 2, 4);
      assert.equal(await store.save(4, shard.snapshot([4]).partitions[0]?.chunks ?? [], 30, null, true), 'saved');
      const loaded = await readPartition(store, 4);
      assert.equal(loaded?.offset, 30);
      assert.deepEqual(storedImages(loaded), liveImages(shard));
    });

    test('a snapshot made with another window is refused with the way out named; other rules are no reason', async () => {
      const otherWindow = rulesConfig({ window: { size: 50, pane: 1_000, retain: 40 }, rules: [{ id: 'hot', type: 'threshold', above: 1 }] });
      const other = await RedisStateStore.connect(target, prefix, 'readings', snapshotIdentity(otherWindow.window));
      try {
        await assert.rejects(
          readPartition(other, 2),
          /made with window size 50, pane 1000 ms, retain 20 panes, this config has window size 50, pane 1000 ms, retain 40 panes.*klaxon state reset/,
        );
      } finally {
        await other.close();
      }
      const otherRules = rulesConfig({ window: { size: 50, pane: 1_000, retain: 20 }, rules: [{ id: 'hot', type: 'threshold', above: 1 }] });
      const same = await RedisStateStore.connect(target, prefix, 'readings', snapshotIdentity(otherRules.window));
      try {
        assert.equal((await readPartition(same, 2))?.offset, 5);
        assert.deepEqual(await same.storedWindow(), { size: 50, paneMs: 1_000, retain: 20 });
        assert.deepEqual((await same.zoneIds()).sort(), [...ZONES].sort());
      } finally {
        await same.close();
      }
    });
  });
}

test('a snapshot made before live rules (format 2) converts as it loads under its own rules; other rules or another ring are refused, saying why', async (t) => {
  const redis = new Redis(REDIS_URL);
  t.after(() => redis.disconnect());
  const legacy = readLegacySnapshot();
  const legacyPrefix = `${prefix}-legacy`;
  const key = (part: string) => `${legacyPrefix}:readings:7:${part}`;
  await redis.hset(key('meta'), 'offset', String(legacy.cut), 'format', '2', 'rules', legacy.fingerprint);
  await redis.sadd(key('ids'), ...Object.keys(legacy.zones));
  for (const [zoneId, image] of Object.entries(legacy.zones)) await redis.set(key(`zone:${zoneId}`), Buffer.from(image, 'base64'));
  const open = (rules: Record<string, unknown>) => {
    const config = rulesConfig(rules);
    return RedisStateStore.connect({ url: REDIS_URL }, legacyPrefix, 'readings', snapshotIdentity(config.window), legacyLayout(config));
  };
  const same = await open(legacy.rules);
  try {
    const loaded = await readPartition(same, 7);
    assert.equal(loaded?.converted, true);
    assert.equal(loaded?.offset, legacy.cut);
    for (const [zoneId, image] of loaded?.zones ?? []) assert.equal(imageHeader(zoneId, image)[0], 3, `zone ${zoneId} converted`);
  } finally {
    await same.close();
  }
  const rules = legacy.rules as { rules: Array<Record<string, unknown>>; window: Record<string, unknown> };
  const other = await open({ ...rules, rules: rules.rules.slice(1) });
  const wider = await open({ ...rules, window: { ...rules.window, retain: 40 } });
  try {
    await assert.rejects(
      readPartition(other, 7),
      /made by a Klaxon before live rules .* under a window or rules other than this config's window and version 1.*klaxon state reset/,
    );
    await assert.rejects(
      readPartition(wider, 7),
      /with a pane ring of 20 panes, and this config's window\.retain is 40: set window\.retain to 20 to convert it/,
    );
  } finally {
    await Promise.all([other.close(), wider.close()]);
    await redis.del(key('meta'), key('ids'), ...Object.keys(legacy.zones).map((zoneId) => key(`zone:${zoneId}`)));
  }
});

test('Redis Cluster: partitions spread over every master, and partitions() and reset() reach them all (SCAN on each master)', async (t) => {
  const spreadPrefix = `${prefix}-spread`;
  const store = await RedisStateStore.connect({ cluster: REDIS_CLUSTER }, spreadPrefix, 'readings', snapshotIdentity(RULES.window));
  t.after(() => store.close());
  const cluster = new Cluster([{ host: REDIS_CLUSTER[0]?.split(':')[0] ?? '', port: Number(REDIS_CLUSTER[0]?.split(':')[1]) }]);
  t.after(() => cluster.disconnect());
  const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: RULES });
  const partitions = Array.from({ length: 12 }, (_, partition) => partition);
  for (const partition of partitions) {
    feed(shard, partition, partition);
    const updates = shard.snapshot([partition]).partitions.find((entry) => entry.partition === partition);
    assert.equal(await store.save(partition, updates?.chunks ?? [], 100 + partition, null, true), 'saved');
  }
  // Where each partition's meta key lives: its node answers for it, the others redirect.
  await new Promise<void>((resolve) => (cluster.status === 'ready' ? resolve() : cluster.once('ready', () => resolve())));
  const holders = new Set<string>();
  for (const partition of partitions) {
    for (const node of cluster.nodes('master')) {
      if ((await node.exists(`{${spreadPrefix}:readings:${partition}}:meta`).catch(() => 0)) === 1) holders.add(`${node.options.host}:${node.options.port}`);
    }
  }
  assert.ok(holders.size >= 2, `12 partitions on ${holders.size} master(s): the test needs them spread`);
  assert.deepEqual(await store.partitions(), partitions);
  assert.equal((await readPartition(store, 11))?.offset, 111);
  assert.equal(await store.reset(), partitions.length);
  assert.deepEqual(await store.partitions(), []);
  for (const node of cluster.nodes('master')) assert.deepEqual(await node.keys(`{${spreadPrefix}:*`), [], `nothing left on ${node.options.port}`);
});

test("Redis Cluster: a partition's slot moved to another master (a reshard): its next save fails on the old master, then a whole save lands on the new one", async (t) => {
  const movedPrefix = `${prefix}-moved`;
  const store = await RedisStateStore.connect({ cluster: REDIS_CLUSTER }, movedPrefix, 'readings', snapshotIdentity(RULES.window));
  t.after(() => store.close());
  const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: RULES });
  feed(shard, 0, 5);
  assert.equal(await store.save(5, shard.snapshot([5]).partitions[0]?.chunks ?? [], 10, null, true), 'saved');
  const slot = calculateSlot(`${movedPrefix}:readings:5`);
  const masters = await clusterMasters();
  const from = await ownerOf(masters, slot);
  const to = masters.find((node) => node !== from) as Redis;
  await moveSlot(masters, slot, from, to);
  t.after(async () => {
    await moveSlot(masters, slot, to, from);
    for (const node of masters) node.disconnect();
  });

  feed(shard, 1, 5);
  const ranges = shard.snapshot([]).partitions[0]?.chunks ?? [];
  await assert.rejects(store.save(5, ranges, 20, 10, false), /MOVED/);
  // The client learns the new owner within its slot refresh (5 s); the checkpoints then write the partition whole.
  feed(shard, 2, 5);
  const whole = shard.snapshot([5]).partitions[0]?.chunks ?? [];
  const started = performance.now();
  let saved = false;
  while (!saved && performance.now() - started < 15_000) {
    saved = (await store.save(5, whole, 30, null, true).catch(() => 'failed')) === 'saved';
    if (!saved) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(saved, 'a whole save succeeds once the client knows the new owner');
  assert.equal((await readPartition(store, 5))?.offset, 30);
  assert.deepEqual(storedImages(await readPartition(store, 5)), liveImages(shard));
  assert.equal(await to.exists(`{${movedPrefix}:readings:5}:meta`), 1, 'on the new master');
  await store.reset();
});

/** A connection to each master of the local cluster. */
async function clusterMasters(): Promise<Redis[]> {
  const probe = new Redis(`redis://${REDIS_CLUSTER[0]}`);
  const nodes = (await probe.call('CLUSTER', 'NODES').finally(() => probe.disconnect())) as string;
  return nodes
    .split('\n')
    .filter((line) => line.includes('master') && !line.includes('fail'))
    .map((line) => {
      const address = (line.split(' ')[1] ?? '').split('@')[0] ?? '';
      return new Redis(`redis://${address}`);
    });
}

async function ownerOf(masters: readonly Redis[], slot: number): Promise<Redis> {
  for (const node of masters) {
    const ranges = (await node.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    for (const [first, last, [host, port]] of ranges) {
      if (slot >= first && slot <= last) return masters.find((m) => m.options.host === host && m.options.port === port) as Redis;
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

/** Moves one slot and its keys between masters, as `redis-cli --cluster reshard` does. */
async function moveSlot(masters: readonly Redis[], slot: number, from: Redis, to: Redis): Promise<void> {
  const fromId = (await from.call('CLUSTER', 'MYID')) as string;
  const toId = (await to.call('CLUSTER', 'MYID')) as string;
  await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
  await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
  for (;;) {
    const keys = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[];
    if (keys.length === 0) break;
    await from.call('MIGRATE', to.options.host ?? '', to.options.port ?? 0, '', 0, 5_000, 'KEYS', ...keys);
  }
  for (const node of masters) await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
}
