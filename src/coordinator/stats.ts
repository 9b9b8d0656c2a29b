/** Running totals of one engine run, read by the progress line, the summary and (later) metrics. */
export class RunStats {
  readonly startedAt = performance.now();
  records = 0;
  accepted = 0;
  rejected = 0;
  firing = 0;
  resolved = 0;
  rerouted = 0;
  /** Records read again after a restart to rebuild state (their output is not written twice). */
  replayed = 0;
  /** Fetched records of partitions taken away by a rebalance before they were processed (their new owner reads them). */
  discarded = 0;
  batches = 0;
  committedBatches = 0;
  /** Dead letters by their reason (the contract's wording), for metrics. */
  readonly rejectedByReason = new Map<string, number>();
  private readonly zonesByShard: number[];
  private readonly batchListeners: Array<(records: number, latencyMs: number) => void> = [];

  constructor(shards: number) {
    this.zonesByShard = new Array(shards).fill(0);
  }

  setZones(shard: number, zones: number): void {
    this.zonesByShard[shard] = zones;
  }

  countRejections(reasons: readonly string[]): void {
    for (const reason of reasons) this.rejectedByReason.set(reason, (this.rejectedByReason.get(reason) ?? 0) + 1);
  }

  /**
   * A batch is finished: every alert it raised has been handed to the sink.
   * `readAtMs` is performance.now() when the source returned it, so listeners
   * see wall-clock processing latency (not alert ts − reading ts, which is
   * meaningless for replayed or simulated readings).
   */
  batchFinished(records: number, readAtMs: number): void {
    const latencyMs = performance.now() - readAtMs;
    for (const listener of this.batchListeners) listener(records, latencyMs);
  }

  /** Metrics subscribe here; a listener must be cheap and must not throw. */
  onBatchFinished(listener: (records: number, latencyMs: number) => void): void {
    this.batchListeners.push(listener);
  }

  get zones(): number {
    return this.zonesByShard.reduce((a, b) => a + b, 0);
  }

  get alerts(): number {
    return this.firing + this.resolved;
  }

  get elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  snapshot() {
    return {
      records: this.records,
      accepted: this.accepted,
      rejected: this.rejected,
      alerts: this.alerts,
      firing: this.firing,
      resolved: this.resolved,
      zones: this.zones,
      rerouted: this.rerouted,
      replayed: this.replayed,
      discarded: this.discarded,
      elapsedMs: Math.round(this.elapsedMs),
    };
  }
}

export type RunSummary = ReturnType<RunStats['snapshot']>;
