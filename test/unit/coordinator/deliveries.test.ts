/**
 * How the coordinator feeds delivery sinks, in process (scripted partitions,
 * in-memory snapshots, shards on this thread): alerts once they are durable,
 * and after a crash what is FIRING, learnt from the restored zones and the
 * replayed records. A sink here follows FIRING rules as the Alertmanager
 * sink does; each run is checked against the reference implementation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import type { KlaxonConfig } from '../../../src/config/types.js';
import { assembleEngine, shardOptions } from '../../../src/coordinator/engine.js';
import { SinkOutputs, TransactionOutputs } from '../../../src/coordinator/outputs.js';
import { Shards } from '../../../src/coordinator/shards.js';
import type { DeliveredAlert } from '../../../src/delivery/alert.js';
import { Deliveries } from '../../../src/delivery/deliveries.js';
import type { AlertSink } from '../../../src/delivery/types.js';
import type { FiringRule } from '../../../src/protocol/messages.js';
import { MemoryStateStore } from '../../../src/state/memory-store.js';
import type { SaveOutcome } from '../../../src/state/types.js';
import { waitFor } from '../../helpers/kafka.js';
import { referenceAlerts } from '../../helpers/reference.js';
import { Fuse, FusedStore, MemorySink, ScriptedLog, ScriptedSource, ScriptedTransactions } from '../../helpers/scripted-source.js';
import { randomStream } from '../../helpers/streams.js';

const PARTITIONS = 3;

function config(): KlaxonConfig {
  return parseConfig(
    {
      engine: { workers: 2, batchSize: 40, maxQueuePerWorker: 2 },
      source: { type: 'kafka', topic: 'scripted', groupId: 'scripted', commitInterval: 3 },
      sink: { type: 'stdout' },
      state: { type: 'redis', snapshotInterval: 5 },
      window: { size: 40, pane: '1s' },
      rules: [
        { id: 'hot', type: 'threshold', above: 80 },
        { id: 'z', type: 'zscore', k: 2.5, minSamples: 10 },
        { id: 'avg', type: 'window_avg', span: '20s', abovePct: 3 },
      ],
    },
    { baseDir: '/', env: {} },
  );
}

/** Follows FIRING rules from what it is given, as the Alertmanager sink does (seq decides between old and new). */
class Follower implements AlertSink {
  readonly name = 'follower';
  readonly targets = [];
  readonly delivered: DeliveredAlert[] = [];
  readonly rules = new Map<string, { seq: number; firing: boolean; partition: number }>();
  recoveries = 0;
  /** Called at each delivery (checks made at that moment). */
  onDeliver: (alerts: readonly DeliveredAlert[]) => void = () => {};

  deliver(partition: number, alerts: readonly DeliveredAlert[]): void {
    this.onDeliver(alerts);
    this.delivered.push(...alerts);
    this.apply(partition, alerts);
  }

  restate(partition: number, alerts: readonly DeliveredAlert[]): void {
    this.apply(partition, alerts);
  }

  recovered(partition: number, firing: readonly FiringRule[]): void {
    this.recoveries++;
    for (const { zoneId, rule, seq } of firing) this.set(`${zoneId}|${rule}`, { seq, firing: true, partition });
  }

  revoked(partitions: readonly number[]): void {
    for (const [key, state] of this.rules) if (partitions.includes(state.partition)) this.rules.delete(key);
  }

  firing(): string[] {
    return [...this.rules].filter(([, state]) => state.firing).map(([key]) => key);
  }

  async ready(): Promise<void> {}
  async close(): Promise<void> {}

  private apply(partition: number, alerts: readonly DeliveredAlert[]): void {
    for (const alert of alerts) this.set(`${alert.zoneId}|${alert.rule}`, { seq: alert.seq, firing: alert.status === 'firing', partition });
  }

  private set(key: string, state: { seq: number; firing: boolean; partition: number }): void {
    const known = this.rules.get(key);
    if (known === undefined || known.seq < state.seq) this.rules.set(key, state);
  }
}

/** The rules FIRING at the end of the input, by the reference implementation. */
function firingAtEnd(input: readonly string[]): string[] {
  const last = new Map<string, string>();
  for (const alert of referenceAlerts(input, config()).alerts) last.set(`${alert.zone_id}|${alert.rule}`, alert.status);
  return [...last].filter(([, status]) => status === 'firing').map(([key]) => key);
}

/** The shared store as one process sees it; once `stalled`, its saves fail as if Redis were down (snapshots fall behind the commits). */
class StallingStore extends FusedStore {
  stalled = false;

  override async save(partition: number, chunks: readonly Uint8Array[], offset: number, previous: number | null, full: boolean): Promise<SaveOutcome> {
    if (this.stalled) throw new Error('the store is down');
    return super.save(partition, chunks, offset, previous, full);
  }
}

function start(log: ScriptedLog, shared: MemoryStateStore, options: { exactlyOnce?: boolean } = {}) {
  const engineConfig = config();
  const fuse = new Fuse();
  const store = new StallingStore(shared, fuse);
  const source = new ScriptedSource(log, { batchSize: 40, fuse });
  const alerts = new MemorySink(fuse);
  const follower = new Follower();
  const deliveries = new Deliveries([follower]);
  const transactions = new ScriptedTransactions(log, fuse);
  const engine = assembleEngine({
    config: engineConfig,
    source,
    ...(options.exactlyOnce
      ? { channel: new TransactionOutputs(transactions, {}, deliveries), ownership: transactions }
      : { channel: new SinkOutputs({ alerts, deadLetters: new MemorySink(fuse), commit: (positions) => source.commit(positions), deliveries }) }),
    store,
    shards: Shards.inProcess(shardOptions(engineConfig)),
    deliveries,
  });
  const finished = engine.run();
  finished.catch(() => {});
  return {
    source,
    alerts,
    follower,
    store,
    finished,
    async crash() {
      fuse.blow();
      engine.running.stop();
      await finished.catch(() => {});
    },
    async finish() {
      source.end();
      return finished;
    },
  };
}

const sorted = (keys: readonly string[]) => [...keys].sort();

describe('deliveries, fed by the coordinator', () => {
  test('at-least-once: every alert written to the record sink is delivered, in its order', async () => {
    const input = randomStream({ seed: 11, lines: 2_000, zones: 12, paneMs: 1_000 });
    const log = new ScriptedLog(PARTITIONS);
    log.append(input);
    const a = start(log, new MemoryStateStore());
    a.source.assign([0, 1, 2]);
    await a.source.drain();
    await a.finish();
    assert.ok(a.alerts.records.length > 50);
    assert.deepEqual(
      a.follower.delivered.map((alert) => alert.text),
      a.alerts.records.map((record) => record.value),
    );
    assert.deepEqual(sorted(a.follower.firing()), sorted(firingAtEnd(input)));
  });

  test('exactly-once: alerts are delivered only once the commit holding them is done', async () => {
    const input = randomStream({ seed: 12, lines: 2_000, zones: 12, paneMs: 1_000 });
    const log = new ScriptedLog(PARTITIONS);
    log.append(input);
    const a = start(log, new MemoryStateStore(), { exactlyOnce: true });
    let checked = 0;
    a.follower.onDeliver = (alerts) => {
      // The log holds what committed transactions wrote: each alert delivered must already be there.
      const committed = new Set(log.committedAlerts.map((record) => record.value));
      for (const alert of alerts) assert.ok(committed.has(alert.text), `${alert.alertId} delivered before its commit`);
      checked += alerts.length;
    };
    a.source.assign([0, 1, 2]);
    await a.source.drain();
    await a.finish();
    assert.ok(log.committedAlerts.length > 50);
    assert.equal(checked, log.committedAlerts.length, 'every alert was delivered, each after its commit');
  });

  test('kill -9 with snapshots behind the commits: the restart learns what is FIRING from the restored zones and the replay alone', async () => {
    const input = randomStream({ seed: 13, lines: 4_000, zones: 16, paneMs: 1_000 });
    const log = new ScriptedLog(PARTITIONS);
    log.append(input);
    const store = new MemoryStateStore();
    const a = start(log, store);
    a.source.assign([0, 1, 2]);
    await a.source.drain(1_500);
    await waitFor(async () => (await store.partitions()).length === PARTITIONS && log.committedTotal() >= 1_500, 'snapshots and commits', 5_000);
    // Snapshots stop; commits go on to the end of the input: the restart restores older zones and replays the rest.
    a.store.stalled = true;
    await a.source.drain();
    await waitFor(() => log.committedTotal() === log.size, 'every record committed', 5_000);
    await a.crash();
    // The restart's sink knows nothing: what it follows comes from the engine alone.
    const b = start(log, store);
    b.source.assign([0, 1, 2]);
    await b.source.drain();
    const summary = await b.finish();
    assert.equal(b.follower.recoveries, PARTITIONS, 'asked once per recovered partition');
    assert.ok(summary.replayed >= 2_000, `records were replayed (${summary.replayed})`);
    assert.equal(b.follower.delivered.length, 0, 'nothing new to deliver: every alert was written before the crash');
    assert.deepEqual(sorted(b.follower.firing()), sorted(firingAtEnd(input)));
  });

  test('partitions moving to a second process: each follows exactly the FIRING rules of the partitions it owns', async () => {
    const input = randomStream({ seed: 14, lines: 3_000, zones: 16, paneMs: 1_000 });
    const log = new ScriptedLog(PARTITIONS);
    log.append(input);
    const store = new MemoryStateStore();
    const a = start(log, store);
    a.source.assign([0, 1, 2]);
    await a.source.drain(1_500);
    await waitFor(async () => (await store.partitions()).length === PARTITIONS, 'snapshots of every partition', 5_000);
    a.source.assign([0]);
    const b = start(log, store);
    b.source.assign([1, 2]);
    await Promise.all([a.source.drain(), b.source.drain()]);
    await Promise.all([a.finish(), b.finish()]);
    const inA = a.follower.firing();
    const inB = b.follower.firing();
    assert.deepEqual(
      inA.filter((key) => inB.includes(key)),
      [],
      'no rule followed by both',
    );
    assert.deepEqual(sorted([...inA, ...inB]), sorted(firingAtEnd(input)));
  });
});
