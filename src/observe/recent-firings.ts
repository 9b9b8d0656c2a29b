/**
 * Firing alerts per rule over the last hour, for the dashboard's shadow
 * panel: a ring of per-minute counts per rule id, so memory stays a few
 * hundred bytes a rule however many alerts there are. Wall time: the hour
 * the operator just lived through, not the readings' own ts.
 */
const MINUTE_MS = 60_000;

export class RecentFirings {
  private readonly byRule = new Map<string, { counts: Uint32Array; minutes: Float64Array }>();

  constructor(private readonly windowMinutes = 60) {}

  add(rule: string, at: number): void {
    let ring = this.byRule.get(rule);
    if (ring === undefined) {
      ring = { counts: new Uint32Array(this.windowMinutes), minutes: new Float64Array(this.windowMinutes).fill(-1) };
      this.byRule.set(rule, ring);
    }
    const minute = Math.floor(at / MINUTE_MS);
    const slot = minute % this.windowMinutes;
    if (ring.minutes[slot] !== minute) {
      ring.minutes[slot] = minute;
      ring.counts[slot] = 0;
    }
    ring.counts[slot] = (ring.counts[slot] as number) + 1;
  }

  /** Firings of `rule` in the last `windowMinutes` minutes before `now` (the current minute included). */
  count(rule: string, now: number): number {
    const ring = this.byRule.get(rule);
    if (ring === undefined) return 0;
    const newest = Math.floor(now / MINUTE_MS);
    let total = 0;
    for (let slot = 0; slot < this.windowMinutes; slot++) {
      const minute = ring.minutes[slot] as number;
      if (minute > newest - this.windowMinutes && minute <= newest) total += ring.counts[slot] as number;
    }
    return total;
  }
}
