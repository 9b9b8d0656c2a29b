/**
 * What one delivery target has done, read by the metrics at scrape time
 * (counters only grow). Latencies are handed to a listener as they happen.
 */
export class DeliveryStats {
  /** Alerts the receiver accepted. */
  sent = 0;
  /** Alerts given up: refused by the receiver, or still failing after retry.maxAttempts. */
  failed = 0;
  /** Requests tried again after a failure. */
  retried = 0;
  /** Alerts dropped unsent: from a full queue, or still queued when the drain at shutdown ran out of time. */
  dropped = 0;
  /** FIRING alerts sent again to keep them active (Alertmanager). */
  resent = 0;
  private latencyListener: ((seconds: number) => void) | undefined;

  constructor(
    /** The sink's name (config `name`). */
    readonly sink: string,
    /** The destination, redacted (scheme, host and port). */
    readonly target: string,
    private readonly depth: () => number,
  ) {}

  /** Alerts waiting to be sent. */
  get queued(): number {
    return this.depth();
  }

  /** `listener` gets, for each accepted alert, the seconds from its being queued to the receiver's answer. */
  onLatency(listener: (seconds: number) => void): void {
    this.latencyListener = listener;
  }

  latency(seconds: number): void {
    this.latencyListener?.(seconds);
  }
}
