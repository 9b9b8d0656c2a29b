import type { OutRecord, Sink } from '../io/types.js';
import type { BatchOutputs } from './dispatcher.js';
import type { OutputChannel } from './ledger.js';

export interface SinkOutputsOptions {
  alerts: Sink;
  deadLetters: Sink;
  /** Commits positions once the sinks have flushed (the source's commit). */
  commit: (positions: ReadonlyMap<number, number>) => Promise<void>;
  /** Sees every batch of alerts handed to the sink (dashboards, metrics). Must not throw or block. */
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
}

/** The at-least-once channel: alerts and dead letters to their sinks as they come; a commit flushes them first. */
export class SinkOutputs implements OutputChannel {
  readonly ordered = false;

  constructor(private readonly options: SinkOutputsOptions) {}

  write(_partition: number, { alerts, deadLetters }: BatchOutputs): void {
    if (alerts.length > 0) {
      this.options.alerts.write(alerts);
      this.options.onAlerts?.(alerts);
    }
    if (deadLetters.length > 0) this.options.deadLetters.write(deadLetters);
  }

  async ready(): Promise<void> {
    await Promise.all([this.options.alerts.ready(), this.options.deadLetters.ready()]);
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]> {
    await Promise.all([this.options.alerts.flush(), this.options.deadLetters.flush()]);
    await this.options.commit(positions);
    return [];
  }
}

/** What the exactly-once channel needs of the per-partition transactions (io/kafka/transactions.ts). */
export interface PartitionedTransactions {
  write(partition: number, alerts: readonly OutRecord[], deadLetters: readonly OutRecord[]): void;
  ready(): Promise<void>;
  commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]>;
}

/**
 * The exactly-once channel: each partition's outputs go into that
 * partition's open transaction, in source order, and commit with its offset.
 */
export class TransactionOutputs implements OutputChannel {
  readonly ordered = true;

  constructor(
    private readonly transactions: PartitionedTransactions,
    private readonly onAlerts?: ((records: readonly OutRecord[]) => void) | undefined,
  ) {}

  write(partition: number, { alerts, deadLetters }: BatchOutputs): void {
    if (alerts.length === 0 && deadLetters.length === 0) return;
    this.transactions.write(partition, alerts, deadLetters);
    if (alerts.length > 0) this.onAlerts?.(alerts);
  }

  ready(): Promise<void> {
    return this.transactions.ready();
  }

  commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]> {
    return this.transactions.commit(positions);
  }
}
