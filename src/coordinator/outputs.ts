import type { BatchOutputs, OutRecord, Sink } from '../io/types.js';
import type { CommitOutcome, OutputChannel } from './ledger.js';

/** Who else sees outputs as they are handed on: dashboards and metrics (alerts), a shadow report (shadow alerts). Must not throw or block. */
export interface OutputWatchers {
  onAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
  onShadowAlerts?: ((records: readonly OutRecord[]) => void) | undefined;
}

/** Where alerts go once the record sink holds them (the deliveries: Alertmanager, webhooks). Never blocks or throws. */
export interface DurableAlerts {
  /** Alerts of one source partition, durable in the record sink (exactly-once: committed). */
  written(partition: number, records: readonly OutRecord[]): void;
  /** Alerts of replayed records, written before a restart: to remember, not to send. */
  replayed(partition: number, records: readonly OutRecord[]): void;
  /** Resolves when there is room (only deliveries configured to block ever wait). */
  ready(): Promise<void>;
}

export interface SinkOutputsOptions extends OutputWatchers {
  alerts: Sink;
  deadLetters: Sink;
  /** Where shadow rules' alerts go; absent: they are only counted (and seen by onShadowAlerts). */
  shadow?: Sink | undefined;
  /** Commits positions once the sinks have flushed (the source's commit); resolves with the partitions it left out. */
  commit: (positions: ReadonlyMap<number, number>) => Promise<readonly number[]>;
  /** Gets alerts as they are written. */
  deliveries?: DurableAlerts | undefined;
}

/** The at-least-once channel: alerts, dead letters and shadow alerts to their sinks as batches finish; a commit flushes them first. */
export class SinkOutputs implements OutputChannel {
  readonly transactional = false;

  constructor(private readonly options: SinkOutputsOptions) {}

  write(partition: number, outputs: BatchOutputs): void {
    const { alerts, deadLetters, shadow, replayedAlerts } = outputs;
    if (alerts.length > 0) this.options.alerts.write(alerts);
    if (deadLetters.length > 0) this.options.deadLetters.write(deadLetters);
    if (shadow.length > 0) this.options.shadow?.write(shadow);
    watch(this.options, outputs);
    if (alerts.length > 0) this.options.deliveries?.written(partition, alerts);
    if (replayedAlerts.length > 0) this.options.deliveries?.replayed(partition, replayedAlerts);
  }

  async ready(): Promise<void> {
    await Promise.all([...this.sinks().map((sink) => sink.ready()), this.options.deliveries?.ready()]);
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<CommitOutcome> {
    await Promise.all(this.sinks().map((sink) => sink.flush()));
    return { lost: [], skipped: await this.options.commit(positions) };
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
  /**
   * Commits the transactions open when it is called, each with its
   * partition's position. A partition released while it runs is given up (not
   * lost); one acquired again meanwhile is not part of it: `positions` are of
   * the batches its old transaction held, and committed under the new one
   * they would move the offset past alerts that were never committed.
   */
  commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]>;
}

/**
 * The exactly-once channel: each partition's outputs (alerts, dead letters
 * and shadow alerts) go into that partition's open transaction, in source
 * order, and commit with its offset. Deliveries get a partition's alerts only
 * once its transaction has committed; a lost partition's are dropped (its
 * next owner writes them again).
 */
export class TransactionOutputs implements OutputChannel {
  readonly transactional = true;
  /** Alerts written into the open transactions, by partition: delivered when they commit. */
  private uncommitted = new Map<number, OutRecord[]>();

  constructor(
    private readonly transactions: PartitionedTransactions,
    private readonly watchers: OutputWatchers = {},
    private readonly deliveries?: DurableAlerts | undefined,
  ) {}

  write(partition: number, outputs: BatchOutputs): void {
    const { alerts, replayedAlerts } = outputs;
    if (replayedAlerts.length > 0) this.deliveries?.replayed(partition, replayedAlerts);
    if (alerts.length + outputs.deadLetters.length + outputs.shadow.length === 0) return;
    this.transactions.write(partition, outputs);
    watch(this.watchers, outputs);
    if (this.deliveries !== undefined && alerts.length > 0) this.uncommitted.set(partition, [...(this.uncommitted.get(partition) ?? []), ...alerts]);
  }

  async ready(): Promise<void> {
    await Promise.all([this.transactions.ready(), this.deliveries?.ready()]);
  }

  async commit(positions: ReadonlyMap<number, number>): Promise<CommitOutcome> {
    // Nothing is written while a commit runs (the ledger holds it), so these are exactly the alerts this commit holds.
    const committing = this.uncommitted;
    this.uncommitted = new Map();
    const lost = await this.transactions.commit(positions);
    for (const [partition, alerts] of committing) if (!lost.includes(partition)) this.deliveries?.written(partition, alerts);
    return { lost, skipped: [] };
  }
}

function watch(watchers: OutputWatchers, { alerts, shadow }: BatchOutputs): void {
  if (alerts.length > 0) watchers.onAlerts?.(alerts);
  if (shadow.length > 0) watchers.onShadowAlerts?.(shadow);
}
