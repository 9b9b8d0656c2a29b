import type { KlaxonConfig, RuleVersion } from '../config/types.js';
import { createSink, createSource } from '../io/factory.js';
import type { OutRecord, Sink, Source } from '../io/types.js';
import { logger } from '../log.js';
import type { RulesResult } from '../protocol/messages.js';
import { openRulesChannel } from '../rules/channel.js';
import { openStateStore } from '../state/factory.js';
import type { StateStore } from '../state/types.js';
import { Checkpoints } from './checkpoints.js';
import { Dispatcher } from './dispatcher.js';
import { Ledger } from './ledger.js';
import { LiveRules } from './live-rules.js';
import { SinkOutputs } from './outputs.js';
import { Pipeline } from './pipeline.js';
import { Router } from './router.js';
import { Shards, type ShardsOptions } from './shards.js';
import { RunStats, type RunSummary } from './stats.js';

const log = logger('engine');

/** What observers (progress line, metrics, dashboard, tests) see of a running engine. */
export interface RunningEngine {
  readonly config: KlaxonConfig;
  readonly stats: RunStats;
  readonly shards: Shards;
  readonly checkpoints: Checkpoints;
  readonly source: Source;
  /** The rule set versions in force, as they change while the engine runs. */
  readonly rules: LiveRules;
  /** Graceful stop: the same as aborting the run's signal. */
  stop(): void;
}

export interface EngineHooks {
  /** Called once the engine is built, before it reads (progress lines, metrics). */
  onStart?(engine: RunningEngine): void;
  /** Aborting it stops the engine gracefully (the CLI wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Sees every batch of alerts handed to the sink. Must not throw or block. */
  onAlerts?: (records: readonly OutRecord[]) => void;
  /** Sees every batch of shadow rules' alerts (kept out of the alerts sink). Must not throw or block. */
  onShadowAlerts?: (records: readonly OutRecord[]) => void;
  /** Shards on this thread instead of worker threads (tests, tools). */
  inProcess?: boolean;
}

interface Closable {
  close(): Promise<void>;
}

/** Runs one engine from a config: builds source, sinks, store and workers, runs to the end, tears down. */
export async function runEngine(config: KlaxonConfig, hooks: EngineHooks = {}): Promise<RunSummary> {
  const opened: Closable[] = [];
  let failed = true;
  try {
    const outputs = config.guarantee === 'exactly-once' ? await openTransactionalOutputs(config) : await openOutputs(config);
    opened.push(...outputs.parts);
    const store = await openStateStore(config);
    if (store !== undefined) opened.push(store);
    const source = await createSource(config.source, config.engine);
    opened.push(source);
    // The rule set is read to its end before any reading is processed; the channel is followed while the engine runs.
    const channel = await openRulesChannel(config);
    opened.push(channel);
    const rules = LiveRules.fromChannel(config, await channel.load(), channel.name);
    log.info({ channel: channel.name, versions: rules.versions.map((v) => v.version) }, 'rule set versions');
    const options = shardOptions(config, rules.versions);
    const shards = hooks.inProcess ? Shards.inProcess(options) : Shards.threads(options);
    opened.push(shards);
    const engine = assembleEngine({ config, source, shards, store, rules, ...outputs, onAlerts: hooks.onAlerts, onShadowAlerts: hooks.onShadowAlerts });
    hooks.onStart?.(engine.running);
    channel.follow((record) => rules.offer(record));
    const summary = await engine.run(hooks.signal);
    await channel.close();
    failed = false;
    return summary;
  } finally {
    // Workers first, then the source, then the sinks. After a failure the run's own error is the one to report.
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
  alerts: Sink;
  deadLetters: Sink;
  /** Where shadow rules' alerts go (config `shadowSink`); absent: only counted. */
  shadow?: Sink | undefined;
  store: StateStore | undefined;
  shards: Shards;
  /** The rule set versions the shards were started with, and the channel's later ones (default: the config's, fixed). */
  rules?: LiveRules | undefined;
  /** Exactly-once: positions are committed by the transaction (and outputs held in order), not by the source. */
  commit?: ((positions: ReadonlyMap<number, number>) => Promise<void>) | undefined;
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
  onShadowAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
}

export interface AssembledEngine {
  readonly running: RunningEngine;
  /** Runs to the end of the source, or until `signal` aborts (graceful stop). */
  run(signal?: AbortSignal): Promise<RunSummary>;
}

/** Wires the coordinator's parts around a source, sinks, a store and shards. Closes nothing: the caller owns the parts. */
export function assembleEngine(parts: EngineParts): AssembledEngine {
  const { config, source, shards, store } = parts;
  const stats = new RunStats(shards.count);
  const ledger = new Ledger(
    new SinkOutputs({
      alerts: parts.alerts,
      deadLetters: parts.deadLetters,
      shadow: parts.shadow,
      ordered: parts.commit !== undefined,
      commit: parts.commit ?? ((positions) => source.commit(positions)),
      onAlerts: parts.onAlerts,
      onShadowAlerts: parts.onShadowAlerts,
    }),
    stats,
  );
  let pipeline: Pipeline | undefined;
  const checkpoints = new Checkpoints(shards, store, source.partitions, (error) => pipeline?.fail(error));
  source.partitions?.listen({
    assigned: async (partition) => {
      const committed = await checkpoints.assigned(partition);
      if (committed !== undefined) ledger.resume(partition, committed);
    },
    revoked: (partitions) => {
      ledger.forget(partitions);
      checkpoints.revoked(partitions);
    },
  });
  const router = new Router(shards.ring, config.source.type === 'kafka' && config.source.requireZoneKey);
  const running = new Pipeline({
    source,
    dispatcher: new Dispatcher(shards, router, stats),
    ledger,
    checkpoints,
    stats,
    commitIntervalMs: config.source.type === 'kafka' ? config.source.commitIntervalMs : 100,
    snapshotIntervalMs: store === undefined || config.state.type !== 'redis' ? undefined : config.state.snapshotIntervalMs,
    maxInFlight: config.engine.workers * config.engine.maxQueuePerWorker + 2,
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
  return {
    running: { config, stats, shards, checkpoints, source, rules, stop },
    async run(signal) {
      if (signal?.aborted) stop();
      signal?.addEventListener('abort', stop, { once: true });
      try {
        return await running.run();
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    },
  };
}

interface Outputs {
  alerts: Sink;
  deadLetters: Sink;
  shadow?: Sink;
  /** Exactly-once: positions are committed by the transaction, not the source. */
  commit?: (positions: ReadonlyMap<number, number>) => Promise<void>;
  /** What to close, in opening order. */
  parts: Closable[];
}

async function openOutputs(config: KlaxonConfig): Promise<Outputs> {
  const parts: Sink[] = [];
  try {
    const alerts = await createSink(config.sink, 'alerts');
    parts.push(alerts);
    const deadLetters = await createSink(config.deadLetter, 'dead-letters');
    parts.push(deadLetters);
    const shadow = config.shadowSink === undefined ? undefined : await createSink(config.shadowSink, 'shadow');
    if (shadow !== undefined) parts.push(shadow);
    return { alerts, deadLetters, ...(shadow === undefined ? {} : { shadow }), parts };
  } catch (error) {
    for (const part of parts) await part.close().catch(() => {});
    throw error;
  }
}

/** Exactly-once: both sinks write into one transactional producer's transactions, which also commit the offsets. */
async function openTransactionalOutputs(config: KlaxonConfig): Promise<Outputs> {
  const { sink, deadLetter, source, shadowSink } = config;
  if (sink.type !== 'kafka' || deadLetter.type !== 'kafka' || source.type !== 'kafka' || (shadowSink !== undefined && shadowSink.type !== 'kafka')) {
    throw new Error('exactly-once needs Kafka in and out');
  }
  const { KafkaTransactions, TransactionalSink } = await import('../io/kafka/transactions.js');
  const transactions = await KafkaTransactions.connect(sink.brokers, `${source.groupId}.${config.engine.instanceId}`, [
    { topic: sink.topic, partitions: sink.partitions },
    { topic: deadLetter.topic, partitions: deadLetter.partitions },
    ...(shadowSink === undefined ? [] : [{ topic: shadowSink.topic, partitions: shadowSink.partitions }]),
  ]);
  const alerts = new TransactionalSink(transactions, sink.topic);
  const deadLetters = new TransactionalSink(transactions, deadLetter.topic);
  const shadow = shadowSink === undefined ? undefined : new TransactionalSink(transactions, shadowSink.topic);
  const commit = (positions: ReadonlyMap<number, number>) =>
    transactions.commit(
      source.groupId,
      [...positions].map(([partition, offset]) => ({ topic: source.topic, partition, offset: String(offset) })),
    );
  // Sinks flush into the transaction; the producer closes after them (opened first, closed last).
  if (shadow === undefined) return { alerts, deadLetters, commit, parts: [transactions, alerts, deadLetters] };
  return { alerts, deadLetters, shadow, commit, parts: [transactions, alerts, deadLetters, shadow] };
}
