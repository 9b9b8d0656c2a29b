import type { OutRecord, Sink } from '../io/types.js';
import type { BatchOutputs } from './dispatcher.js';
import type { OutputChannel } from './ledger.js';

export interface SinkOutputsOptions {
  alerts: Sink;
  deadLetters: Sink;
  /** Where shadow rules' alerts go; absent: they are only counted (and seen by onShadowAlerts). */
  shadow?: Sink | undefined;
  /** Commits positions once the sinks have flushed (the source's commit, or a transaction's). */
  commit: (positions: ReadonlyMap<number, number>) => Promise<void>;
  /** Transactional sinks: outputs in order, none during a commit (see OutputChannel). */
  ordered: boolean;
  /** Sees every batch of alerts handed to the sink (dashboards, metrics). Must not throw or block. */
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
  /** Sees every batch of shadow alerts (metrics; a backtest or shadow report plugs in here). Must not throw or block. */
  onShadowAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
}

/** The output channel of an engine: alerts, dead letters and shadow alerts to their sinks, committed after a flush. */
export class SinkOutputs implements OutputChannel {
  readonly ordered: boolean;

  constructor(private readonly options: SinkOutputsOptions) {
    this.ordered = options.ordered;
  }

  write(_partition: number, { alerts, deadLetters, shadow }: BatchOutputs): void {
    if (alerts.length > 0) {
      this.options.alerts.write(alerts);
      this.options.onAlerts?.(alerts);
    }
    if (deadLetters.length > 0) this.options.deadLetters.write(deadLetters);
    if (shadow.length > 0) {
      this.options.shadow?.write(shadow);
      this.options.onShadowAlerts?.(shadow);
    }
  }

  async ready(): Promise<void> {
    await Promise.all(this.sinks().map((sink) => sink.ready()));
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<void> {
    await Promise.all(this.sinks().map((sink) => sink.flush()));
    await this.options.commit(positions);
  }

  private sinks(): Sink[] {
    const { alerts, deadLetters, shadow } = this.options;
    return shadow === undefined ? [alerts, deadLetters] : [alerts, deadLetters, shadow];
  }
}
