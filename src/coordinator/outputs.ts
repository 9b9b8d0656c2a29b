import type { BatchOutputs, OutRecord, Sink } from '../io/types.js';
import type { OutputChannel } from './ledger.js';

/** Who else sees outputs as they are handed on: dashboards and metrics (alerts), a shadow report (shadow alerts). Must not throw or block. */
export interface OutputWatchers {
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
  onShadowAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
}

export interface SinkOutputsOptions extends OutputWatchers {
  alerts: Sink;
  deadLetters: Sink;
  /** Where shadow rules' alerts go; absent: they are only counted (and seen by onShadowAlerts). */
  shadow?: Sink | undefined;
  /** Commits positions once the sinks have flushed (the source's commit). */
  commit: (positions: ReadonlyMap<number, number>) => Promise<void>;
}

/** The at-least-once channel: alerts, dead letters and shadow alerts to their sinks as batches finish; a commit flushes them first. */
export class SinkOutputs implements OutputChannel {
  readonly transactional = false;

  constructor(private readonly options: SinkOutputsOptions) {}

  write(_partition: number, outputs: BatchOutputs): void {
    const { alerts, deadLetters, shadow } = outputs;
    if (alerts.length > 0) this.options.alerts.write(alerts);
    if (deadLetters.length > 0) this.options.deadLetters.write(deadLetters);
    if (shadow.length > 0) this.options.shadow?.write(shadow);
    watch(this.options, outputs);
  }

  async ready(): Promise<void> {
    await Promise.all(this.sinks().map((sink) => sink.ready()));
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]> {
    await Promise.all(this.sinks().map((sink) => sink.flush()));
    await this.options.commit(positions);
    return [];
  }

  private sinks(): Sink[] {
    const { alerts, deadLetters, shadow } = this.options;
    return shadow === undefined ? [alerts, deadLetters] : [alerts, deadLetters, shadow];
  }
}

/** What the exactly-once channel needs of the per-partition transactions (io/kafka/transactions.ts). */
export interface PartitionedTransactions {
  write(partition: number, outputs: BatchOutputs): void;
  ready(): Promise<void>;
  commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]>;
}

/**
 * The exactly-once channel: each partition's outputs (alerts, dead letters
 * and shadow alerts) go into that partition's open transaction, in source
 * order, and commit with its offset.
 */
export class TransactionOutputs implements OutputChannel {
  readonly transactional = true;

  constructor(
    private readonly transactions: PartitionedTransactions,
    private readonly watchers: OutputWatchers = {},
  ) {}

  write(partition: number, outputs: BatchOutputs): void {
    if (outputs.alerts.length + outputs.deadLetters.length + outputs.shadow.length === 0) return;
    this.transactions.write(partition, outputs);
    watch(this.watchers, outputs);
  }

  ready(): Promise<void> {
    return this.transactions.ready();
  }

  commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]> {
    return this.transactions.commit(positions);
  }
}

function watch(watchers: OutputWatchers, { alerts, shadow }: BatchOutputs): void {
  if (alerts.length > 0) watchers.onAlerts?.(alerts);
  if (shadow.length > 0) watchers.onShadowAlerts?.(shadow);
}
