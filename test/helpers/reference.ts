/**
 * The alert contract (docs/alert-semantics.md describes it for users) written the slow, obvious way:
 * every zone keeps every accepted reading; statistics are recomputed from
 * scratch with compensated sums for each reading. Used only by tests, as the
 * oracle the engine is compared with on generated streams.
 */
import type { KlaxonConfig, Rule } from '../../src/config/types.js';

export interface RefReading {
  zone_id: string;
  device_id: string;
  temperature: number;
  ts: number;
}

export interface RefAlert {
  alert_id: string;
  zone_id: string;
  device_id: string;
  rule: string;
  type: string;
  status: 'firing' | 'resolved';
  value: number;
  ts: number;
  seq: number;
  details: Record<string, number>;
}

interface Past {
  value: number;
  pane: number;
  inPanes: boolean;
}

/** Neumaier's compensated sum: accurate enough to stand in for exact rounding here. */
export function accurateSum(values: readonly number[]): number {
  let sum = 0;
  let compensation = 0;
  for (const v of values) {
    const t = sum + v;
    compensation += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  return sum + compensation;
}

function pane(ts: number, g: number): number {
  return Math.floor(ts / g);
}

/** Validates one line exactly as contract §1 says; returns the reading or null (a dead letter). */
export function referenceParse(line: string): RefReading | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  const id = (v: unknown) => typeof v === 'string' && [...v].length >= 1 && [...v].length <= 256;
  if (!id(r.zone_id) || !id(r.device_id)) return null;
  if (typeof r.temperature !== 'number' || !Number.isFinite(r.temperature)) return null;
  if (r.ts === undefined) return null; // the tests' streams always carry ts when valid
  if (typeof r.ts !== 'number' || !Number.isInteger(r.ts) || r.ts < 0 || r.ts > Number.MAX_SAFE_INTEGER) return null;
  return r as unknown as RefReading;
}

export function referenceAlerts(
  lines: readonly string[],
  config: Pick<KlaxonConfig, 'window' | 'rules'>,
): {
  alerts: RefAlert[];
  deadLines: number[];
} {
  const g = config.window.paneMs;
  const W = config.window.size;
  let R = 0;
  for (const rule of config.rules) {
    if (rule.type === 'window_avg') R = Math.max(R, rule.spanMs / g);
    if (rule.type === 'rate_of_change') R = Math.max(R, rule.lagMs / g + 1);
  }
  const zones = new Map<string, { past: Past[]; firing: Map<string, boolean> }>();
  const alerts: RefAlert[] = [];
  const deadLines: number[] = [];
  lines.forEach((line, index) => {
    const reading = referenceParse(line);
    if (reading === null) {
      deadLines.push(index + 1);
      return;
    }
    let zone = zones.get(reading.zone_id);
    if (!zone) {
      zone = { past: [], firing: new Map() };
      zones.set(reading.zone_id, zone);
    }
    const x = reading.temperature;
    const p = pane(reading.ts, g);
    const seq = zone.past.length + 1;
    const history = zone.past.slice(-W).map((r) => r.value);
    const M = zone.past.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...zone.past.map((r) => r.pane));
    const available = (q: number) => q > M - R;
    const counted = zone.past.filter((r) => r.inPanes);
    for (const rule of config.rules) {
      const outcome = evaluate(rule, x, p, g, history, counted, available);
      const mode = rule.mode;
      const firing = zone.firing.get(rule.id) ?? false;
      const emit = (status: 'firing' | 'resolved') =>
        alerts.push({
          alert_id: `${reading.zone_id}:${rule.id}:${seq}`,
          zone_id: reading.zone_id,
          device_id: reading.device_id,
          rule: rule.id,
          type: rule.type,
          status,
          value: x,
          ts: reading.ts,
          seq,
          details: outcome.details,
        });
      if (mode === 'every') {
        if (outcome.fires) emit('firing');
      } else if (outcome.fires && !firing) {
        zone.firing.set(rule.id, true);
        emit('firing');
      } else if (outcome.evaluated && !outcome.fires && firing) {
        zone.firing.set(rule.id, false);
        emit('resolved');
      }
    }
    const inPanes = zone.past.length === 0 || available(p) || p > M;
    zone.past.push({ value: x, pane: p, inPanes });
  });
  return { alerts, deadLines };
}

function evaluate(
  rule: Rule,
  x: number,
  p: number,
  g: number,
  history: number[],
  counted: Past[],
  available: (q: number) => boolean,
): { evaluated: boolean; fires: boolean; details: Record<string, number> } {
  const no = { evaluated: false, fires: false, details: {} };
  switch (rule.type) {
    case 'threshold':
      return {
        evaluated: true,
        fires: (rule.above !== undefined && x > rule.above) || (rule.below !== undefined && x < rule.below),
        details: {},
      };
    case 'zscore': {
      const n = history.length;
      if (n < Math.max(1, rule.minSamples)) return no;
      const mean = accurateSum(history) / n;
      const std = Math.sqrt(accurateSum(history.map((v) => (v - mean) ** 2)) / n);
      const fires = std > 1e-9 * Math.max(1, Math.abs(mean)) && Math.abs(x - mean) > rule.k * std;
      return { evaluated: true, fires, details: { mean, std, z: std === 0 ? 0 : (x - mean) / std } };
    }
    case 'window_avg': {
      const P = rule.spanMs / g;
      const inWindow = counted.filter((r) => r.pane > p - P && r.pane <= p && available(r.pane)).map((r) => r.value);
      if (inWindow.length < Math.max(1, rule.minSamples)) return no;
      const avg = accurateSum(inWindow) / inWindow.length;
      return { evaluated: true, fires: x > avg + (Math.abs(avg) * rule.abovePct) / 100, details: { avg, count: inWindow.length } };
    }
    case 'rate_of_change': {
      const q = p - rule.lagMs / g;
      if (!available(q)) return no;
      const inPane = counted.filter((r) => r.pane === q).map((r) => r.value);
      if (inPane.length === 0) return no;
      const ref = accurateSum(inPane) / inPane.length;
      if (ref === 0) return no;
      const changePct = ((x - ref) / Math.abs(ref)) * 100;
      const fires = rule.direction === 'up' ? changePct > rule.pct : rule.direction === 'down' ? changePct < -rule.pct : Math.abs(changePct) > rule.pct;
      return { evaluated: true, fires, details: { ref, changePct } };
    }
  }
}
