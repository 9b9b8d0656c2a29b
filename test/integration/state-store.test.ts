import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
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
