import type { KlaxonConfig, RuleVersion } from '../config/types.js';
import type { OutRecord } from '../io/types.js';
import type { FiringRule } from '../protocol/messages.js';
import { type DeliveredAlert, parseDelivered } from './alert.js';
import { AlertmanagerSink } from './alertmanager.js';
import type { DeliveryStats } from './stats.js';
import type { AlertSink } from './types.js';
import { WebhookSink } from './webhook.js';

export interface DeliveriesOptions {
  /** The dashboard's base URL when it is served (Alertmanager alerts link to their zone). */
  dashboardUrl?: string | undefined;
  /** The rule set versions known now, live (default: the config's). */
  versions?: (() => readonly RuleVersion[]) | undefined;
}

/**
 * Every delivery sink of a config (`sinks` entries of type alertmanager and
 * webhook), fed from the record sink's alerts: each alert is parsed once and
 * offered to each sink, whose filter decides. Nothing here blocks or throws
 * on the alert path.
 */
export class Deliveries {
  constructor(private readonly sinks: readonly AlertSink[]) {}

  /** The config's deliveries; undefined when it has none (the engine then does nothing more per alert). */
  static open(config: KlaxonConfig, options: DeliveriesOptions = {}): Deliveries | undefined {
    if (config.deliveries.length === 0) return undefined;
    return new Deliveries(
      config.deliveries.map((delivery) =>
        delivery.type === 'alertmanager'
          ? new AlertmanagerSink(delivery, { versions: options.versions ?? (() => config.versions), dashboardUrl: options.dashboardUrl })
          : new WebhookSink(delivery),
      ),
    );
  }

  /** Whether some sink wants the rules FIRING in restored state (see recovered()). */
  get followsFiring(): boolean {
    return this.sinks.some((sink) => sink.recovered !== undefined);
  }

  /** Alerts now durable in the record sink. */
  written(partition: number, records: readonly OutRecord[]): void {
    const alerts = parse(records);
    for (const sink of this.sinks) sink.deliver(partition, alerts);
  }

  /** Alerts of replayed records: written (and delivered) before a restart, so only remembered. */
  replayed(partition: number, records: readonly OutRecord[]): void {
    const alerts = parse(records);
    for (const sink of this.sinks) sink.restate?.(partition, alerts);
  }

  recovered(partition: number, firing: readonly FiringRule[]): void {
    for (const sink of this.sinks) sink.recovered?.(partition, firing);
  }

  revoked(partitions: readonly number[]): void {
    for (const sink of this.sinks) sink.revoked?.(partitions);
  }

  async ready(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.ready()));
  }

  /** Every destination's stats, for the metrics. */
  stats(): DeliveryStats[] {
    return this.sinks.flatMap((sink) => sink.targets.map((target) => target.stats));
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }
}

function parse(records: readonly OutRecord[]): DeliveredAlert[] {
  const alerts: DeliveredAlert[] = [];
  for (const record of records) {
    const alert = parseDelivered(record.value);
    if (alert !== undefined) alerts.push(alert);
  }
  return alerts;
}
