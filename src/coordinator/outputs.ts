import type { OutRecord, Sink } from '../io/types.js';
import type { BatchOutputs } from './dispatcher.js';
import type { OutputChannel } from './ledger.js';

export interface SinkOutputsOptions {
  alerts: Sink;
  deadLetters: Sink;
  /** Commits positions once the sinks have flushed (the source's commit, or a transaction's). */
  commit: (positions: ReadonlyMap<number, number>) => Promise<void>;
  /** Transactional sinks: outputs in order, none during a commit (see OutputChannel). */
  ordered: boolean;
  /** Sees every batch of alerts handed to the sink (dashboards, metrics). Must not throw or block. */
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
}

/** The output channel of an engine: alerts and dead letters to their sinks, committed after a flush. */
export class SinkOutputs implements OutputChannel {
  readonly ordered: boolean;

  constructor(private readonly options: SinkOutputsOptions) {
    this.ordered = options.ordered;
  }

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

  async commit(positions: ReadonlyMap<number, number>): Promise<void> {
    await Promise.all([this.options.alerts.flush(), this.options.deadLetters.flush()]);
    await this.options.commit(positions);
  }
}
