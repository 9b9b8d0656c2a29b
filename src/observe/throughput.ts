/**
 * Readings per second and lag sampled over time, for the dashboard's
 * throughput chart: a fixed ring of the last `points` samples.
 */
export class Throughput {
  private readonly samples: Array<[t: number, rate: number, lag: number | null]> = [];
  private last: { at: number; records: number } | undefined;

  constructor(private readonly points: number) {}

  sample(records: number, lag: number | undefined): void {
    const now = performance.now();
    if (this.last !== undefined && now > this.last.at) {
      const rate = ((records - this.last.records) * 1000) / (now - this.last.at);
      this.samples.push([Date.now(), Math.round(rate), lag ?? null]);
      if (this.samples.length > this.points) this.samples.shift();
    }
    this.last = { at: now, records };
  }

  /** The newest sample as [wall ms, readings/s, lag], if any. */
  latest(): [number, number, number | null] | undefined {
    return this.samples.at(-1);
  }

  /** Oldest first. */
  series(): Array<[number, number, number | null]> {
    return [...this.samples];
  }
}
