/** Running totals of one engine run, read by the progress line, the summary and metrics. */
export class RunStats {
  readonly startedAt = performance.now();
  records = 0;
  accepted = 0;
  /** Dead letters written (not counting replayed records). */
  rejected = 0;
  /** Alerts written, by status (not counting those suppressed during a replay). */
  firing = 0;
  resolved = 0;
  /** Alerts of shadow rules, kept out of the alerts sink (written to the shadow output, if there is one). */
  shadowAlerts = 0;
  /** Alerts of replayed records, not written again. */
  suppressed = 0;
  /** The largest reading ts the workers have evaluated (-1: none yet): which rule version is in force for the stream. */
  maxTs = -1;
  /** Records read again after a restart to rebuild state (their output is not written twice). */
  replayed = 0;
  /** Fetched records of partitions taken away by a rebalance before they were processed (their new owner reads them). */
  discarded = 0;
  /** Records whose key is not their zone_id (or unkeyed), where the source has keys. */
  keyMismatches = 0;
  batches = 0;
  committedBatches = 0;
  /** Dead letters by their reason (the contract's wording), for metrics. */
  readonly rejectedByReason = new Map<string, number>();
  private readonly mismatchedPartitions = new Set<number>();
  private readonly zonesByShard: number[];
  private readonly batchListeners: Array<(records: number, alerts: number, latencyMs: number) => void> = [];

  constructor(shards: number) {
    this.zonesByShard = new Array(shards).fill(0);
  }

  setZones(shard: number, zones: number): void {
    this.zonesByShard[shard] = zones;
  }

  reject(reason: string): void {
    this.rejected++;
    this.rejectedByReason.set(reason, (this.rejectedByReason.get(reason) ?? 0) + 1);
  }

  /** Counts records keyed by something other than their zone; true the first time a partition has any. */
  keyMismatch(partition: number, records: number): boolean {
    this.keyMismatches += records;
    if (this.mismatchedPartitions.has(partition)) return false;
    this.mismatchedPartitions.add(partition);
    return true;
  }

  /**
   * A batch is finished: its outputs (`alerts` of them alerts) are handed
   * on. `readAtMs` is performance.now() when the source had it (fetched), so
   * listeners see wall-clock processing latency (not alert ts − reading ts,
   * which is meaningless for replayed or simulated readings).
   */
  batchFinished(records: number, alerts: number, readAtMs: number): void {
    const latencyMs = performance.now() - readAtMs;
    for (const listener of this.batchListeners) listener(records, alerts, latencyMs);
  }

  /** Metrics subscribe here; a listener must be cheap and must not throw. */
  onBatchFinished(listener: (records: number, alerts: number, latencyMs: number) => void): void {
    this.batchListeners.push(listener);
  }

  get zones(): number {
    return this.zonesByShard.reduce((a, b) => a + b, 0);
  }

  /** Alerts written. */
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
      shadowAlerts: this.shadowAlerts,
      suppressed: this.suppressed,
      zones: this.zones,
      keyMismatches: this.keyMismatches,
      replayed: this.replayed,
      discarded: this.discarded,
      elapsedMs: Math.round(this.elapsedMs),
    };
  }
}

export type RunSummary = ReturnType<RunStats['snapshot']>;
