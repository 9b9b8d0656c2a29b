import type { KlaxonConfig } from '../config/types.js';
import { Deliveries } from '../delivery/deliveries.js';
import { createSink, createSource } from '../io/factory.js';
import type { OutRecord, Sink, Source } from '../io/types.js';
import type { FiringResult } from '../protocol/messages.js';
import { openStateStore } from '../state/factory.js';
import type { StateStore } from '../state/types.js';
import { Checkpoints } from './checkpoints.js';
import { Dispatcher } from './dispatcher.js';
import { Ledger } from './ledger.js';
import { SinkOutputs } from './outputs.js';
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
  /** The delivery sinks (Alertmanager, webhooks), if the config has any. */
  readonly deliveries: Deliveries | undefined;
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
  /** The dashboard's base URL, when it is served: Alertmanager alerts link to their zone there. */
  dashboardUrl?: string | undefined;
}

interface Closable {
  close(): Promise<void>;
}

/** Runs one engine from a config: builds source, sinks, store and workers, runs to the end, tears down. */
export async function runEngine(config: KlaxonConfig, hooks: EngineHooks = {}): Promise<RunSummary> {
  const opened: Closable[] = [];
  let failed = true;
  try {
    // Opened first, so closed last: they get the alerts of the final commit, then drain.
    const deliveries = Deliveries.open(config, { dashboardUrl: hooks.dashboardUrl });
    if (deliveries !== undefined) opened.push(deliveries);
    const outputs = config.guarantee === 'exactly-once' ? await openTransactionalOutputs(config) : await openOutputs(config);
    opened.push(...outputs.parts);
    const store = await openStateStore(config);
    if (store !== undefined) opened.push(store);
    const source = await createSource(config.source, config.engine);
    opened.push(source);
    const shards = hooks.inProcess ? Shards.inProcess(shardOptions(config)) : Shards.threads(shardOptions(config));
    opened.push(shards);
    const engine = assembleEngine({ config, source, shards, store, ...outputs, onAlerts: hooks.onAlerts, deliveries });
    hooks.onStart?.(engine.running);
    const summary = await engine.run(hooks.signal);
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

/** How the config's engine section and rules become shards. */
export function shardOptions(config: KlaxonConfig): ShardsOptions {
  const { workers, virtualNodes, maxQueuePerWorker } = config.engine;
  return { workers, virtualNodes, maxQueuePerWorker, rules: { window: config.window, rules: config.rules } };
}

/** Everything an engine runs with, opened by the caller (runEngine from a config; tests with in-process parts). */
export interface EngineParts {
  config: KlaxonConfig;
  source: Source;
  alerts: Sink;
  deadLetters: Sink;
  store: StateStore | undefined;
  shards: Shards;
  /** Exactly-once: positions are committed by the transaction (and outputs held in order), not by the source. */
  commit?: ((positions: ReadonlyMap<number, number>) => Promise<void>) | undefined;
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
  deliveries?: Deliveries | undefined;
}

export interface AssembledEngine {
  readonly running: RunningEngine;
  /** Runs to the end of the source, or until `signal` aborts (graceful stop). */
  run(signal?: AbortSignal): Promise<RunSummary>;
}

/** Wires the coordinator's parts around a source, sinks, a store and shards. Closes nothing: the caller owns the parts. */
export function assembleEngine(parts: EngineParts): AssembledEngine {
  const { config, source, shards, store, deliveries } = parts;
  const stats = new RunStats(shards.count);
  const ledger = new Ledger(
    new SinkOutputs({
      alerts: parts.alerts,
      deadLetters: parts.deadLetters,
      ordered: parts.commit !== undefined,
      commit: parts.commit ?? ((positions) => source.commit(positions)),
      onAlerts: parts.onAlerts,
      deliveries,
    }),
    stats,
  );
  let pipeline: Pipeline | undefined;
  const checkpoints = new Checkpoints(shards, store, source.partitions, (error) => pipeline?.fail(error));
  source.partitions?.listen({
    assigned: async (partition) => {
      const committed = await checkpoints.assigned(partition);
      if (committed === undefined) return;
      ledger.resume(partition, committed);
      if (deliveries?.followsFiring) await recoverFiring(partition);
    },
    revoked: (partitions) => {
      ledger.forget(partitions);
      checkpoints.revoked(partitions);
      deliveries?.revoked(partitions);
    },
  });
  /**
   * What the restored zones of a partition say is FIRING, for the deliveries
   * that keep it active (Alertmanager). Asked before any of the partition's
   * records is handed on, so the replayed alerts that follow apply on top.
   */
  const recoverFiring = async (partition: number) => {
    const answers = await shards.broadcast<FiringResult>(() => ({ kind: 'firing', partitions: [partition] }));
    if (source.partitions?.owns(partition) === false) return;
    deliveries?.recovered(
      partition,
      answers.flatMap((answer) => answer.firing),
    );
  };
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
    running: { config, stats, shards, checkpoints, source, deliveries, stop },
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
  /** Exactly-once: positions are committed by the transaction, not the source. */
  commit?: (positions: ReadonlyMap<number, number>) => Promise<void>;
  /** What to close, in opening order. */
  parts: Closable[];
}

async function openOutputs(config: KlaxonConfig): Promise<Outputs> {
  const alerts = await createSink(config.sink, 'alerts');
  const deadLetters = await createSink(config.deadLetter, 'dead-letters').catch(async (error: unknown) => {
    await alerts.close().catch(() => {});
    throw error;
  });
  return { alerts, deadLetters, parts: [alerts, deadLetters] };
}

/** Exactly-once: both sinks write into one transactional producer's transactions, which also commit the offsets. */
async function openTransactionalOutputs(config: KlaxonConfig): Promise<Outputs> {
  const { sink, deadLetter, source } = config;
  if (sink.type !== 'kafka' || deadLetter.type !== 'kafka' || source.type !== 'kafka') throw new Error('exactly-once needs Kafka in and out');
  const { KafkaTransactions, TransactionalSink } = await import('../io/kafka/transactions.js');
  const transactions = await KafkaTransactions.connect(sink.brokers, `${source.groupId}.${config.engine.instanceId}`, [
    { topic: sink.topic, partitions: sink.partitions },
    { topic: deadLetter.topic, partitions: deadLetter.partitions },
  ]);
  const alerts = new TransactionalSink(transactions, sink.topic);
  const deadLetters = new TransactionalSink(transactions, deadLetter.topic);
  const commit = (positions: ReadonlyMap<number, number>) =>
    transactions.commit(
      source.groupId,
      [...positions].map(([partition, offset]) => ({ topic: source.topic, partition, offset: String(offset) })),
    );
  // Sinks flush into the transaction; the producer closes after them (opened first, closed last).
  return { alerts, deadLetters, commit, parts: [transactions, alerts, deadLetters] };
}
