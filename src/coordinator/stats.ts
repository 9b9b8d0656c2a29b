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
  batches = 0;
  committedBatches = 0;
  private readonly zonesByShard: number[];

  constructor(shards: number) {
    this.zonesByShard = new Array(shards).fill(0);
  }

  setZones(shard: number, zones: number): void {
    this.zonesByShard[shard] = zones;
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
      elapsedMs: Math.round(this.elapsedMs),
    };
  }
}

export type RunSummary = ReturnType<RunStats['snapshot']>;
