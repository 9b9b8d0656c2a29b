import type { KlaxonConfig } from '../config/types.js';
import { createSink, createSource, waitForConfiguredKafka } from '../io/factory.js';
import type { OutRecord, Source } from '../io/types.js';
import { openStateStore } from '../state/factory.js';
import type { StateStore } from '../state/types.js';
import { Checkpoints } from './checkpoints.js';
import { Dispatcher } from './dispatcher.js';
import { Ledger, type OutputChannel } from './ledger.js';
import { SinkOutputs, TransactionOutputs } from './outputs.js';
import { PartitionLifecycle, type PartitionOwnership } from './partition-lifecycle.js';
import { Pipeline } from './pipeline.js';
import { Router } from './router.js';
import { Shards, type ShardsOptions } from './shards.js';
import { RunStats, type RunSummary } from './stats.js';

/** What observers (progress line, metrics, dashboard, tests) see of a running engine. */
export interface RunningEngine {
  readonly config: KlaxonConfig;
  readonly stats: RunStats;
  readonly shards: Shards;
  readonly checkpoints: Checkpoints;
  readonly source: Source;
  /** Doing its share: partitions assigned and recovered, and finished batches being committed. */
  ready(): boolean;
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
  /** Shards on this thread instead of worker threads (tests, tools). */
  inProcess?: boolean;
}

interface Closable {
  close(): Promise<void>;
}

/** Runs one engine from a config: builds source, outputs, store and workers, runs to the end, tears down. */
export async function runEngine(config: KlaxonConfig, hooks: EngineHooks = {}): Promise<RunSummary> {
  const opened: Closable[] = [];
  let failed = true;
  try {
    await waitForConfiguredKafka(config);
    const outputs = config.guarantee === 'exactly-once' ? await openTransactionalOutputs(config, hooks.onAlerts) : await openOutputs(config, hooks.onAlerts);
    opened.push(...outputs.parts);
    const store = await openStateStore(config);
    if (store !== undefined) opened.push(store);
    const source = await createSource(config.source, config.engine);
    opened.push(source);
    const shards = hooks.inProcess ? Shards.inProcess(shardOptions(config)) : Shards.threads(shardOptions(config));
    opened.push(shards);
    const engine = assembleEngine({ config, source, shards, store, channel: outputs.channel(source), ownership: outputs.ownership });
    hooks.onStart?.(engine.running);
    const summary = await engine.run(hooks.signal);
    failed = false;
    return summary;
  } finally {
    // Workers first, then the source, then the outputs. After a failure the run's own error is the one to report.
    for (const part of opened.reverse()) {
      await part.close().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }
}

/** How the config's engine section and rules become shards. */
export function shardOptions(config: KlaxonConfig): ShardsOptions {
  const { workers, virtualNodes, maxQueuePerWorker } = config.engine;
  return { workers, virtualNodes, maxQueuePerWorker, rules: { window: config.window, rules: config.rules } };
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
  /** See PartitionLifecycle (tests shorten it). */
  recoverAfterLossMs?: number;
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
  const checkpoints = new Checkpoints(shards, store, source.partitions, (error) => pipeline?.fail(error));
  if (source.partitions !== undefined) {
    lifecycle = new PartitionLifecycle(source.partitions, checkpoints, ledger, parts.ownership, parts.recoverAfterLossMs);
    lifecycle.listen();
  }
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
  const stop = () => running.stop();
  return {
    running: { config, stats, shards, checkpoints, source, stop, ready: () => checkpoints.ready() && running.committing && source.connected?.() !== false },
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

interface Outputs {
  /** The channel, once the source exists (at-least-once commits through the source). */
  channel(source: Source): OutputChannel;
  ownership?: PartitionOwnership;
  /** What to close, in opening order. */
  parts: Closable[];
}

type AlertHook = ((records: readonly OutRecord[]) => void) | undefined;

async function openOutputs(config: KlaxonConfig, onAlerts: AlertHook): Promise<Outputs> {
  const alerts = await createSink(config.sink, 'alerts');
  const deadLetters = await createSink(config.deadLetter, 'dead-letters').catch(async (error: unknown) => {
    await alerts.close().catch(() => {});
    throw error;
  });
  return {
    channel: (source) => new SinkOutputs({ alerts, deadLetters, commit: (positions) => source.commit(positions), onAlerts }),
    parts: [alerts, deadLetters],
  };
}

/** Exactly-once: one transactional producer per source partition; each commits its outputs with its offset. */
async function openTransactionalOutputs(config: KlaxonConfig, onAlerts: AlertHook): Promise<Outputs> {
  const { sink, deadLetter, source } = config;
  if (sink.type !== 'kafka' || deadLetter.type !== 'kafka' || source.type !== 'kafka') throw new Error('exactly-once needs Kafka in and out');
  const { PartitionTransactions } = await import('../io/kafka/transactions.js');
  const transactions = await PartitionTransactions.connect({
    brokers: sink.brokers,
    groupId: source.groupId,
    sourceTopic: source.topic,
    alerts: { topic: sink.topic, partitions: sink.partitions },
    deadLetters: { topic: deadLetter.topic, partitions: deadLetter.partitions },
    transactionTimeoutMs: sink.transactionTimeoutMs,
  });
  return { channel: () => new TransactionOutputs(transactions, onAlerts), ownership: transactions, parts: [transactions] };
}
