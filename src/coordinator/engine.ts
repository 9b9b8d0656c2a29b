import type { KlaxonConfig } from '../config/types.js';
import { createSink, createSource, createStateStore } from '../io/factory.js';
import type { KafkaTransactions } from '../io/kafka/transactions.js';
import type { OutRecord, Sink, Source } from '../io/types.js';
import type { StateStore } from '../state/types.js';
import { Pipeline } from './pipeline.js';
import type { RunSummary } from './stats.js';
import { onStop } from './stop-signals.js';

export interface EngineHooks {
  /** Called once the pipeline exists (progress lines, metrics). */
  onStart?(pipeline: Pipeline): void;
  /** Stop gracefully on SIGINT/SIGTERM (see stop-signals.ts; the CLI installs them). Default true. */
  handleSignals?: boolean;
  /** Sees every batch of alerts handed to the sink. Must not throw or block. */
  onAlerts?: (records: readonly OutRecord[]) => void;
}

/** Runs one engine from a config: builds source, sinks and workers, runs to the end, tears down. */
export async function runEngine(config: KlaxonConfig, hooks: EngineHooks = {}): Promise<RunSummary> {
  const opened: Array<Source | Sink | StateStore | { close(): Promise<void> }> = [];
  let pipeline: Pipeline | undefined;
  let stopRequested = false;
  const unsubscribe =
    hooks.handleSignals === false
      ? () => {}
      : onStop(() => {
          stopRequested = true;
          pipeline?.stop();
        });
  let failed = true;
  try {
    const outputs = config.guarantee === 'exactly-once' ? await createTransactionalOutputs(config) : await createOutputs(config);
    opened.push(...outputs.parts);
    const { alerts, deadLetters } = outputs;
    const store = await createStateStore(config);
    if (store !== undefined) opened.push(store);
    const source = await createSource(config.source, config.engine, outputs.transactions);
    opened.push(source);
    pipeline = new Pipeline(config, {
      source,
      alerts,
      deadLetters,
      commitIntervalMs: config.source.type === 'kafka' ? config.source.commitIntervalMs : 100,
      keyIsZoneId: config.source.type === 'kafka' ? config.source.keyIsZoneId : true,
      ...(hooks.onAlerts === undefined ? {} : { onAlerts: hooks.onAlerts }),
      ...(store === undefined ? {} : { store }),
      ...(config.state.type === 'redis' ? { snapshotIntervalMs: config.state.snapshotIntervalMs } : {}),
      exactlyOnce: config.guarantee === 'exactly-once',
    });
    hooks.onStart?.(pipeline);
    if (stopRequested) pipeline.stop();
    const summary = await pipeline.run();
    failed = false;
    return summary;
  } finally {
    unsubscribe();
    await pipeline?.close();
    // Close the source first, then the sinks. After a failure the run's own error is the one to report.
    for (const part of opened.reverse()) {
      if (part === undefined) continue;
      await part.close().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }
}

interface Outputs {
  alerts: Sink;
  deadLetters: Sink;
  transactions?: KafkaTransactions;
  /** What to close, in opening order. */
  parts: Array<Sink | { close(): Promise<void> }>;
}

async function createOutputs(config: KlaxonConfig): Promise<Outputs> {
  const alerts = await createSink(config.sink, 'alerts');
  const deadLetters = await createSink(config.deadLetter, 'dead-letters').catch(async (error: unknown) => {
    await alerts.close().catch(() => {});
    throw error;
  });
  return { alerts, deadLetters, parts: [alerts, deadLetters] };
}

/** Exactly-once: both sinks write into one transactional producer's transactions. */
async function createTransactionalOutputs(config: KlaxonConfig): Promise<Outputs> {
  const { sink, deadLetter, source } = config;
  if (sink.type !== 'kafka' || deadLetter.type !== 'kafka' || source.type !== 'kafka') throw new Error('exactly-once needs Kafka in and out');
  const { KafkaTransactions, TransactionalSink } = await import('../io/kafka/transactions.js');
  const transactions = await KafkaTransactions.connect(sink.brokers, `${source.groupId}.${config.engine.instanceId}`, [
    { topic: sink.topic, partitions: sink.partitions },
    { topic: deadLetter.topic, partitions: deadLetter.partitions },
  ]);
  const alerts = new TransactionalSink(transactions, sink.topic);
  const deadLetters = new TransactionalSink(transactions, deadLetter.topic);
  // Sinks flush into the transaction; the producer closes after them (opened first, closed last).
  return { alerts, deadLetters, transactions, parts: [transactions, alerts, deadLetters] };
}
