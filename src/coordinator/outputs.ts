import type { OutRecord, Sink } from '../io/types.js';
import type { BatchOutputs } from './dispatcher.js';
import type { OutputChannel } from './ledger.js';

/** Where alerts go once the record sink holds them (the deliveries: Alertmanager, webhooks). Never blocks or throws. */
export interface DurableAlerts {
  /** Alerts of one source partition, durable in the record sink (exactly-once: committed). */
  written(partition: number, records: readonly OutRecord[]): void;
  /** Alerts of replayed records, written before a restart: to remember, not to send. */
  replayed(partition: number, records: readonly OutRecord[]): void;
  /** Resolves when there is room (only deliveries configured to block ever wait). */
  ready(): Promise<void>;
}

export interface SinkOutputsOptions {
  alerts: Sink;
  deadLetters: Sink;
  /** Commits positions once the sinks have flushed (the source's commit, or a transaction's). */
  commit: (positions: ReadonlyMap<number, number>) => Promise<void>;
  /** Transactional sinks: outputs in order, none during a commit (see OutputChannel). */
  ordered: boolean;
  /** Sees every batch of alerts handed to the sink (dashboards, metrics). Must not throw or block. */
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
  /** Gets alerts as they become durable: as they are written, or (ordered) once their transaction commits. */
  deliveries?: DurableAlerts | undefined;
}

/** The output channel of an engine: alerts and dead letters to their sinks, committed after a flush. */
export class SinkOutputs implements OutputChannel {
  readonly ordered: boolean;
  /** Ordered: alerts written into the open transaction, by partition, handed to the deliveries once it commits. */
  private uncommitted: Array<{ partition: number; alerts: OutRecord[] }> = [];

  constructor(private readonly options: SinkOutputsOptions) {
    this.ordered = options.ordered;
  }

  write(partition: number, { alerts, deadLetters, replayedAlerts }: BatchOutputs): void {
    const { deliveries } = this.options;
    if (alerts.length > 0) {
      this.options.alerts.write(alerts);
      this.options.onAlerts?.(alerts);
      if (deliveries !== undefined) {
        if (this.ordered) this.uncommitted.push({ partition, alerts });
        else deliveries.written(partition, alerts);
      }
    }
    if (deadLetters.length > 0) this.options.deadLetters.write(deadLetters);
    if (replayedAlerts.length > 0) deliveries?.replayed(partition, replayedAlerts);
  }

  async ready(): Promise<void> {
    await Promise.all([this.options.alerts.ready(), this.options.deadLetters.ready(), this.options.deliveries?.ready()]);
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<void> {
    // Ordered: nothing is written while a commit runs, so what was written until now is what this transaction holds.
    const committing = this.uncommitted;
    this.uncommitted = [];
    await Promise.all([this.options.alerts.flush(), this.options.deadLetters.flush()]);
    await this.options.commit(positions);
    for (const { partition, alerts } of committing) this.options.deliveries?.written(partition, alerts);
  }
}
