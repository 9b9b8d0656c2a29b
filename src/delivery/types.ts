import type { FiringRule } from '../protocol/messages.js';
import type { DeliveredAlert } from './alert.js';
import type { Delivery } from './delivery.js';

/**
 * A sink that alerts are delivered to once the record sink holds them
 * (Alertmanager, webhook). It never blocks its caller and never throws:
 * a slow or failing receiver only fills its own queues.
 */
export interface AlertSink {
  readonly name: string;
  /** One per destination (an Alertmanager cluster has several): their stats are the metrics. */
  readonly targets: readonly Delivery<unknown>[];
  /** Alerts durable in the record sink, in the order it got them, from one source partition. */
  deliver(partition: number, alerts: readonly DeliveredAlert[]): void;
  /** Alerts of replayed records (delivered before a restart): state to remember, nothing to send. */
  restate?(partition: number, alerts: readonly DeliveredAlert[]): void;
  /** A partition's state was restored from a snapshot: the rules FIRING in it then. */
  recovered?(partition: number, firing: readonly FiringRule[]): void;
  /** Partitions left this process: their new owner takes over what they hold. */
  revoked?(partitions: readonly number[]): void;
  /** Resolves when the sink has room (only a sink configured to block ever waits). */
  ready(): Promise<void>;
  /** Sends what is queued, for a bounded time, then stops. */
  close(): Promise<void>;
}
