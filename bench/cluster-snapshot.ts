/**
 * Snapshot time on a Redis Cluster beside one Redis: the state store alone, in this process, on the
 * local services (services/up.sh: Redis on 16379, a three-master Redis Cluster on 17001-17003, all on
 * this 2-core machine).
 *
 * Z zones over 6 partitions are built once in an in-process Shard (3 readings each), packed as the
 * workers pack them, then saved to each store in turns (one Redis, then the cluster, then the other
 * way round, `--rounds` times), partition after partition as the engine saves them:
 *   full save: every zone whole (the first snapshot of a partition, or a rewrite),
 *   increment: one more reading per zone, its changed byte ranges only (a steady-state snapshot),
 *   load: every partition read back, zone ids then images 500 at a time (a restart's reads).
 * Each round deletes its keys before the next.
 *
 * A partition's keys share one slot, so a partition is the unit the cluster places: the bench also
 * reports how many partitions each master got.
 *
 *   npm run bench:cluster-snapshot -- [--zones 100000] [--rounds 2] [--partitions 6]
 */

import { parseArgs } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { parseConfig } from '../src/config/load.js';
import { Shard } from '../src/engine/shard.js';
import { snapshotIdentity } from '../src/engine/zone-image.js';
import type { PartitionUpdates } from '../src/protocol/messages.js';
import { linesTask } from '../src/protocol/messages.js';
import type { RedisTarget } from '../src/state/redis-connect.js';
import { RedisStateStore } from '../src/state/redis-store.js';
import { environment, runBench, startServices, table, writeResult } from './environment.js';
import { DEFAULT_RULES } from './rules.js';

const { values } = parseArgs({
  options: { zones: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '2' }, partitions: { type: 'string', default: '6' } },
});
const zones = Number(values.zones);
const rounds = Number(values.rounds);
const PARTITIONS = Number(values.partitions);
const LOAD_BATCH = 500;
const TOPIC = 'readings';

const { redisUrl, redisCluster } = startServices();
const prefix = `bench-cluster-${process.pid}`;
const stores: RedisStateStore[] = [];

interface Timing {
  store: string;
  round: number;
  fullMs: number;
  incrementMs: number;
  loadMs: number;
  /** Growth of used_memory on each node (each master of the cluster) from the full save, MiB. */
  memoryMiB: number[];
}

await runBench('cluster snapshot bench', main, cleanup);

async function main(): Promise<void> {
  const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...DEFAULT_RULES }, { baseDir: '/' });
  const rules = { window: config.window, versions: config.versions };
  const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules });
  const feed = (round: number) => {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const lines: string[] = [];
      for (let zone = partition; zone < zones; zone += PARTITIONS) {
        lines.push(
          JSON.stringify({ zone_id: `zone-${zone}`, device_id: 'd', temperature: 20 + ((zone * 7 + round) % 13), ts: 1_760_000_000_000 + round * 1_000 }),
        );
        if (lines.length === 1_000) shard.process(linesTask(lines.splice(0), partition));
      }
      if (lines.length > 0) shard.process(linesTask(lines, partition));
    }
  };
  const built = performance.now();
  for (let round = 0; round < 3; round++) feed(round);
  const everyPartition = Array.from({ length: PARTITIONS }, (_, partition) => partition);
  const whole = shard.snapshot(everyPartition).partitions;
  feed(3);
  const increment = shard.snapshot([]).partitions;
  const bytes = (updates: readonly PartitionUpdates[]) => updates.reduce((sum, entry) => sum + entry.bytes, 0);
  log(`${zones} zones built and packed in ${Math.round(performance.now() - built)} ms: whole ${bytes(whole)} bytes, increment ${bytes(increment)} bytes`);

  const identity = snapshotIdentity(config.window);
  const targets: Array<[string, RedisTarget]> = [
    ['one Redis', { url: redisUrl }],
    ['Redis Cluster (3 masters)', { cluster: redisCluster }],
  ];
  const placement = await partitionsPerMaster(redisCluster);
  log(`partitions per master: ${placement.join(' / ')}`);
  const timings: Timing[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [name, target] of round % 2 === 1 ? targets : [...targets].reverse()) {
      const store = await RedisStateStore.connect(target, prefix, TOPIC, identity);
      stores.push(store);
      const nodes = await openNodes(target);
      const before = await usedMemory(nodes);
      const fullMs = await timed(() => saveAll(store, whole, 1, null, true));
      const after = await usedMemory(nodes);
      const memoryMiB = after.map((used, k) => Math.round((used - (before[k] ?? 0)) / 2 ** 20));
      for (const node of nodes) node.disconnect();
      const incrementMs = await timed(() => saveAll(store, increment, 2, 1, false));
      const loadMs = await timed(() => loadAll(store));
      await store.reset();
      timings.push({ store: name, round, fullMs, incrementMs, loadMs, memoryMiB });
      log(`round ${round}, ${name}: full ${fullMs} ms, increment ${incrementMs} ms, load ${loadMs} ms, memory per node ${memoryMiB.join(' / ')} MiB`);
    }
  }

  const rows = timings.map((t) => ({
    store: t.store,
    round: t.round,
    'full save, ms': t.fullMs,
    'increment, ms': t.incrementMs,
    'load, ms': t.loadMs,
    'used_memory growth per node, MiB': t.memoryMiB.join(' / '),
  }));
  const markdown = [
    '# Snapshot time: Redis Cluster beside one Redis',
    '',
    `${zones.toLocaleString('en-US')} zones over ${PARTITIONS} partitions, the seed rules (W = 500, 1 s panes), saved through the state store from one process, partition after partition as the engine does. One Redis on 127.0.0.1:16379; a Redis Cluster of three masters, no replicas, on 127.0.0.1:17001-17003; all on the same 2-core machine as the bench. Rounds alternate which store goes first.`,
    '',
    `Full save: every zone whole (${bytes(whole).toLocaleString('en-US')} bytes packed; Redis holds ~10 KB per zone). Increment: one more reading per zone, changed ranges only (${bytes(increment).toLocaleString('en-US')} bytes). Load: zone ids, then MGET of 500 images at a time, every partition.`,
    '',
    table(rows),
    '',
    `A partition's keys share one slot (hash tag \`{prefix:topic:partition}\`), so the cluster places whole partitions: here ${placement.join(' / ')} of the ${PARTITIONS} partitions on the three masters (by port), which is what the memory column shows.`,
    '',
    `\`npm run bench:cluster-snapshot -- --zones ${zones} --rounds ${rounds} --partitions ${PARTITIONS}\` under \`flock /tmp/klaxon-bench.lock\`.`,
    '',
  ].join('\n');
  const name = PARTITIONS === 6 ? 'cluster-snapshot' : `cluster-snapshot-${PARTITIONS}-partitions`;
  writeResult(name, { zones, partitions: PARTITIONS, partitionsPerMaster: placement, rounds, timings, environment: environment() }, markdown);
  process.stdout.write(`${markdown}\n`);
}

async function saveAll(store: RedisStateStore, updates: readonly PartitionUpdates[], offset: number, previous: number | null, full: boolean): Promise<void> {
  for (const { partition, chunks } of updates) {
    const outcome = await store.save(partition, chunks, offset, previous, full);
    if (outcome !== 'saved') throw new Error(`partition ${partition}: ${outcome}`);
  }
}

async function loadAll(store: RedisStateStore): Promise<void> {
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const snapshot = await store.snapshotOf(partition);
    if (snapshot === null) throw new Error(`partition ${partition}: no snapshot`);
    const ids = await store.zoneIdsOf(partition);
    for (let at = 0; at < ids.length; at += LOAD_BATCH) await store.fetch(partition, ids.slice(at, at + LOAD_BATCH), snapshot);
  }
}

/** One connection to each node holding data: the Redis, or every master of the cluster. */
async function openNodes(target: RedisTarget): Promise<Redis[]> {
  if ('url' in target) return [new Redis(target.url)];
  const cluster = new Cluster(target.cluster.map((node) => ({ host: node.split(':')[0] ?? '', port: Number(node.split(':')[1]) })));
  await new Promise<void>((resolve) => cluster.once('ready', () => resolve()));
  const ports = cluster.nodes('master').map((node) => ({ host: node.options.host ?? '127.0.0.1', port: node.options.port ?? 6379 }));
  cluster.disconnect();
  return ports.sort((a, b) => a.port - b.port).map((address) => new Redis(address));
}

/** How many of the partitions' hash tags each master (by port) serves. */
async function partitionsPerMaster(nodes: readonly string[]): Promise<number[]> {
  const cluster = new Cluster(nodes.map((node) => ({ host: node.split(':')[0] ?? '', port: Number(node.split(':')[1]) })));
  await new Promise<void>((resolve) => cluster.once('ready', () => resolve()));
  const masters = [...new Set(cluster.slots.map((owners) => owners[0] ?? ''))].sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]));
  const counts = masters.map(() => 0);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const master = cluster.slots[calculateSlot(`${prefix}:${TOPIC}:${partition}`)]?.[0] ?? '';
    counts[masters.indexOf(master)] = (counts[masters.indexOf(master)] ?? 0) + 1;
  }
  cluster.disconnect();
  return counts;
}

async function usedMemory(nodes: readonly Redis[]): Promise<number[]> {
  return Promise.all(nodes.map(async (node) => Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1] ?? 0)));
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return Math.round(performance.now() - started);
}

async function cleanup(): Promise<void> {
  for (const store of stores) {
    await store.reset().catch(() => {});
    await store.close().catch(() => {});
  }
}

function log(message: string): void {
  process.stderr.write(`[cluster-snapshot] ${message}\n`);
}
