import type { KlaxonConfig, RuleVersion } from '../config/types.js';
import { Deliveries } from '../delivery/deliveries.js';
import { createSink, createSource, waitForConfiguredKafka } from '../io/factory.js';
import type { Sink, Source } from '../io/types.js';
import { logger } from '../log.js';
import type { FiringResult, RulesResult } from '../protocol/messages.js';
import { openRulesChannel } from '../rules/channel.js';
import { openStateStore } from '../state/factory.js';
import type { StateStore } from '../state/types.js';
import { Checkpoints } from './checkpoints.js';
import { Dispatcher } from './dispatcher.js';
import { Ledger, type OutputChannel } from './ledger.js';
import { LiveRules } from './live-rules.js';
import { type DurableAlerts, type OutputWatchers, SinkOutputs, TransactionOutputs } from './outputs.js';
import { type PartitionFollower, PartitionLifecycle, type PartitionOwnership } from './partition-lifecycle.js';
import { Pipeline } from './pipeline.js';
import { Router } from './router.js';
import { Shards, type ShardsOptions } from './shards.js';
import { RunStats, type RunSummary } from './stats.js';
import { ZoneTier } from './tiering.js';

const log = logger('engine');

/** What observers (progress line, metrics, dashboard, tests) see of a running engine. */
export interface RunningEngine {
  readonly config: KlaxonConfig;
  readonly stats: RunStats;
  readonly shards: Shards;
  readonly checkpoints: Checkpoints;
  readonly source: Source;
  /** Tiering (state.maxZonesInMemory): which zones live only in the store. */
  readonly tier: ZoneTier | undefined;
  /** The rule set versions in force, as they change while the engine runs. */
  readonly rules: LiveRules;
  /** The delivery sinks (Alertmanager, webhooks), if the config has any. */
  readonly deliveries: Deliveries | undefined;
  /** Doing its share: partitions assigned and recovered, finished batches being committed, the broker answering. */
  ready(): boolean;
  /** Graceful stop: the same as aborting the run's signal. */
  stop(): void;
}

export interface EngineHooks extends OutputWatchers {
  /** Called once the engine is built, before it reads (progress lines, metrics). */
  onStart?(engine: RunningEngine): void;
  /** Aborting it stops the engine gracefully (the CLI wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Shards on this thread instead of worker threads (tests, tools). */
  inProcess?: boolean;
  /** The dashboard's base URL, when it is served: Alertmanager alerts link to their zone there. */
  dashboardUrl?: string | undefined;
}

interface Closable {
  close(): Promise<void>;
}

/** Runs one engine from a config: builds source, outputs, store, rules channel and workers, runs to the end, tears down. */
export async function runEngine(config: KlaxonConfig, hooks: EngineHooks = {}): Promise<RunSummary> {
  const opened: Closable[] = [];
  let failed = true;
  try {
    await waitForConfiguredKafka(config);
    // Opened first, so closed last: they get the alerts of the final commit, then drain. They see the versions as the rules channel adds them.
    let rules: LiveRules | undefined;
    const deliveries = Deliveries.open(config, { dashboardUrl: hooks.dashboardUrl, versions: () => rules?.versions ?? config.versions });
    if (deliveries !== undefined) opened.push(deliveries);
    const outputs =
      config.guarantee === 'exactly-once' ? await openTransactionalOutputs(config, hooks, deliveries) : await openOutputs(config, hooks, deliveries);
    opened.push(...outputs.parts);
    const store = await openStateStore(config);
    if (store !== undefined) opened.push(store);
    const source = await createSource(config.source, config.engine);
    opened.push(source);
    // The rule set is read to its end before any reading is processed; the channel is followed while the engine runs.
    const channel = await openRulesChannel(config);
    opened.push(channel);
    rules = LiveRules.fromChannel(config, await channel.load(), channel.name);
    log.info({ channel: channel.name, versions: rules.versions.map((v) => v.version) }, 'rule set versions');
    const options = shardOptions(config, rules.versions);
    const shards = hooks.inProcess ? Shards.inProcess(options) : Shards.threads(options);
    opened.push(shards);
    const engine = assembleEngine({ config, source, shards, store, rules, deliveries, channel: outputs.channel(source), ownership: outputs.ownership });
    hooks.onStart?.(engine.running);
    channel.follow((record) => rules.offer(record));
    const summary = await engine.run(hooks.signal);
    const tier = engine.running.tier?.stats;
    if (tier !== undefined)
      log.info({ ...tier }, `tiering: ${tier.evictions} zones evicted and ${tier.reloads} read back over the run, ${tier.evicted} kept only in the store now`);
    failed = false;
    return summary;
  } finally {
    // Workers first, then the rules channel and the source, then the outputs. After a failure the run's own error is the one to report.
    for (const part of opened.reverse()) {
      await part.close().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }
}

/** How the config's engine section, window and rule set versions (the config's, unless the rules channel had more) become shards. */
export function shardOptions(config: KlaxonConfig, versions: readonly RuleVersion[] = config.versions): ShardsOptions {
  const { workers, virtualNodes, maxQueuePerWorker } = config.engine;
  return { workers, virtualNodes, maxQueuePerWorker, rules: { window: config.window, versions: [...versions] } };
}

/** Everything an engine runs with, opened by the caller (runEngine from a config; tests with in-process parts). */
export interface EngineParts {
  config: KlaxonConfig;
  source: Source;
  /** Where outputs go and how they commit: SinkOutputs (at-least-once) or TransactionOutputs (exactly-once). */
  channel: OutputChannel;
  /** Exactly-once: each partition's transactional id, taken on assignment and given up on revocation. */
  ownership?: PartitionOwnership | undefined;
  store: StateStore | undefined;
  shards: Shards;
  /** The rule set versions the shards were started with, and the channel's later ones (default: the config's, fixed). */
  rules?: LiveRules | undefined;
  /** Alertmanager and webhooks: told what restored zones say is FIRING, and which partitions left. */
  deliveries?: Deliveries | undefined;
  /** See PartitionLifecycle (tests shorten it). */
  recoverAfterLossMs?: number;
  /** See ZoneTier (tests shorten it). */
  reloadPatienceMs?: number;
}

export interface AssembledEngine {
  readonly running: RunningEngine;
  /** Runs to the end of the source, or until `signal` aborts (graceful stop). */
  run(signal?: AbortSignal): Promise<RunSummary>;
}

/** Wires the coordinator's parts around a source, outputs, a store and shards. Closes nothing: the caller owns the parts. */
export function assembleEngine(parts: EngineParts): AssembledEngine {
  const { config, source, shards, store } = parts;
  const stats = new RunStats(shards.count);
  let pipeline: Pipeline | undefined;
  let lifecycle: PartitionLifecycle | undefined;
  const ledger = new Ledger(parts.channel, stats, (lost) => lifecycle?.lost(lost));
  const fail = (error: unknown) => pipeline?.fail(error);
  const tier = tierOf(config, store, shards, {
    fail,
    reloadPatienceMs: parts.reloadPatienceMs,
    zonesHeld: (shard, zones) => stats.setZones(shard, zones),
    ownSnapshot: (partition, offset) => checkpoints.ownSnapshot(partition, offset),
    // Revoked and assigned again at once (the group still gives it to this process): the revoke releases its
    // transactional id and drops its lane, the assignment recovers it from the store.
    lose: (partition) => source.partitions?.recover(partition),
  });
  const checkpoints = new Checkpoints(shards, store, source.partitions, fail, tier);
  if (source.partitions !== undefined) {
    const follower = parts.deliveries === undefined ? undefined : firingFollower(parts.deliveries, shards);
    lifecycle = new PartitionLifecycle(source.partitions, checkpoints, ledger, {
      ownership: parts.ownership,
      follower,
      recoverAfterLossMs: parts.recoverAfterLossMs,
    });
    lifecycle.listen();
  }
  const router = new Router(shards.ring, config.source.type === 'kafka' && config.source.requireZoneKey);
  const running = new Pipeline({
    source,
    dispatcher: new Dispatcher(shards, router, stats, tier),
    ledger,
    checkpoints,
    stats,
    commitIntervalMs: config.source.type === 'kafka' ? config.source.commitIntervalMs : 100,
    snapshotIntervalMs: store === undefined || config.state.type !== 'redis' ? undefined : config.state.snapshotIntervalMs,
    maxInFlight: config.engine.workers * config.engine.maxQueuePerWorker + 2,
    zonePressure: tier === undefined ? undefined : () => tier.pressure(stats.zones),
  });
  pipeline = running;
  const rules = parts.rules ?? LiveRules.fromConfig(config);
  // A new version is queued at every worker between two batches; the workers apply it in stream order.
  rules.connect(async (version) => {
    const { applied } = await running.between(() => ({ applied: shards.broadcast<RulesResult>(() => ({ kind: 'rules', version })) }));
    const results = await applied.catch((error: unknown) => {
      running.fail(error);
      return [];
    });
    return results.some((result) => result.late);
  });
  const stop = () => running.stop();
  const ready = () => checkpoints.ready() && running.committing && source.connected?.() !== false;
  return {
    running: { config, stats, shards, checkpoints, source, tier, rules, deliveries: parts.deliveries, stop, ready },
    async run(signal) {
      if (signal?.aborted) stop();
      signal?.addEventListener('abort', stop, { once: true });
      try {
        return await running.run();
      } finally {
        lifecycle?.close();
        signal?.removeEventListener('abort', stop);
      }
    },
  };
}

/** Tiering, when the config limits the zones in memory and there is a store to keep the others: each worker keeps its share. */
function tierOf(config: KlaxonConfig, store: StateStore | undefined, shards: Shards, parts: ConstructorParameters<typeof ZoneTier>[3]): ZoneTier | undefined {
  if (store === undefined || config.state.type !== 'redis' || config.state.maxZonesInMemory === undefined) return undefined;
  return new ZoneTier(shards, store, Math.ceil(config.state.maxZonesInMemory / shards.count), parts);
}

/**
 * What the restored zones of a partition say is FIRING, for the deliveries
 * that keep it active (Alertmanager). Asked once the partition is recovered
 * and before any of its records is handed on, so the replayed alerts that
 * follow apply on top.
 */
function firingFollower(deliveries: Deliveries, shards: Shards): PartitionFollower {
  return {
    recovered: async (partition, stillOwned) => {
      if (!deliveries.followsFiring) return;
      const answers = await shards.broadcast<FiringResult>(() => ({ kind: 'firing', partitions: [partition] }));
      if (stillOwned())
        deliveries.recovered(
          partition,
          answers.flatMap((answer) => answer.firing),
        );
    },
    revoked: (partitions) => deliveries.revoked(partitions),
  };
}

interface Outputs {
  /** The channel, once the source exists (at-least-once commits through the source). */
  channel(source: Source): OutputChannel;
  ownership?: PartitionOwnership;
  /** What to close, in opening order. */
  parts: Closable[];
}

async function openOutputs(config: KlaxonConfig, watchers: OutputWatchers, deliveries: DurableAlerts | undefined): Promise<Outputs> {
  const parts: Sink[] = [];
  try {
    const alerts = await createSink(config.sink, 'alerts');
    parts.push(alerts);
    const deadLetters = await createSink(config.deadLetter, 'dead-letters');
    parts.push(deadLetters);
    const shadow = config.shadowSink === undefined ? undefined : await createSink(config.shadowSink, 'shadow');
    if (shadow !== undefined) parts.push(shadow);
    const { onAlerts, onShadowAlerts } = watchers;
    return {
      channel: (source) =>
        new SinkOutputs({ alerts, deadLetters, shadow, commit: (positions) => source.commit(positions), onAlerts, onShadowAlerts, deliveries }),
      parts,
    };
  } catch (error) {
    for (const part of parts) await part.close().catch(() => {});
    throw error;
  }
}

/** Exactly-once: one transactional producer per source partition; each commits its outputs with its offset. */
async function openTransactionalOutputs(config: KlaxonConfig, watchers: OutputWatchers, deliveries: DurableAlerts | undefined): Promise<Outputs> {
  const { sink, deadLetter, source, shadowSink } = config;
  if (sink.type !== 'kafka' || deadLetter.type !== 'kafka' || source.type !== 'kafka' || (shadowSink !== undefined && shadowSink.type !== 'kafka')) {
    throw new Error('exactly-once needs Kafka in and out');
  }
  const { PartitionTransactions } = await import('../io/kafka/transactions.js');
  const transactions = await PartitionTransactions.connect({
    brokers: sink.brokers,
    groupId: source.groupId,
    sourceTopic: source.topic,
    alerts: { topic: sink.topic, partitions: sink.partitions },
    deadLetters: { topic: deadLetter.topic, partitions: deadLetter.partitions },
    shadow: shadowSink === undefined ? undefined : { topic: shadowSink.topic, partitions: shadowSink.partitions },
    transactionTimeoutMs: sink.transactionTimeoutMs,
    lingerMs: sink.lingerMs,
  });
  return { channel: () => new TransactionOutputs(transactions, watchers, deliveries), ownership: transactions, parts: [transactions] };
}
