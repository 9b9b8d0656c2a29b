/**
 * The alerts the engine hands to its sink, as the operator side sees them:
 * parsed once from the sink records (EngineHooks.onAlerts), kept in a bounded
 * ring for the dashboard's feed and the zone chart's markers, and fanned out
 * to listeners (metrics). Memory stays bounded however many zones alert.
 */

export interface SeenAlert {
  alertId: string;
  zoneId: string;
  rule: string;
  status: 'firing' | 'resolved';
  value: number;
  /** The reading's ts. */
  ts: number;
  seq: number;
  /** Wall-clock ms when the engine handed the alert to the sink. */
  emittedAt: number;
}

interface AlertJson {
  alert_id: string;
  zone_id: string;
  rule: string;
  status: 'firing' | 'resolved';
  value: number;
  ts: number;
  seq: number;
}

export function parseAlert(value: string, emittedAt: number): SeenAlert | undefined {
  try {
    const a = JSON.parse(value) as AlertJson;
    return { alertId: a.alert_id, zoneId: a.zone_id, rule: a.rule, status: a.status, value: a.value, ts: a.ts, seq: a.seq, emittedAt };
  } catch {
    // The engine's own alert text always parses; a foreign record is not worth failing the sink path for.
    return undefined;
  }
}

export class AlertFeed {
  private readonly ring: SeenAlert[] = [];
  private next = 0;
  /** Alerts ever added; clients remember the last count they saw to get only newer ones. */
  private total = 0;
  private readonly listeners: Array<(alerts: readonly SeenAlert[]) => void> = [];

  constructor(private readonly capacity = 5_000) {}

  /** The onAlerts hook: cheap, never throws. */
  readonly add = (records: readonly { key: string; value: string }[]): void => {
    const now = Date.now();
    const parsed: SeenAlert[] = [];
    for (const record of records) {
      const alert = parseAlert(record.value, now);
      if (alert === undefined) continue;
      parsed.push(alert);
      if (this.ring.length < this.capacity) this.ring.push(alert);
      else this.ring[this.next] = alert;
      this.next = (this.next + 1) % this.capacity;
      this.total++;
    }
    for (const listener of this.listeners) {
      try {
        listener(parsed);
      } catch {
        // This runs on the engine's alert path: an observer's failure must not become the engine's.
      }
    }
  };

  onAlerts(listener: (alerts: readonly SeenAlert[]) => void): void {
    this.listeners.push(listener);
  }

  get count(): number {
    return this.total;
  }

  /** Alerts added after the first `seen` ones, oldest first, at most `limit` (the newest of them). */
  since(seen: number, limit: number): SeenAlert[] {
    const wanted = Math.min(this.total - seen, limit, this.ring.length);
    const out: SeenAlert[] = [];
    for (let i = wanted; i > 0; i--) out.push(this.ring[(this.next - i + this.ring.length) % this.ring.length] as SeenAlert);
    return out;
  }

  /** A zone's alerts still in the ring with seq in [fromSeq, toSeq], oldest first. */
  forZone(zoneId: string, fromSeq: number, toSeq: number): SeenAlert[] {
    return this.since(0, this.ring.length).filter((a) => a.zoneId === zoneId && a.seq >= fromSeq && a.seq <= toSeq);
  }
}
