/**
 * The alert contract (docs/alert-semantics.md describes it for users) written the slow, obvious way:
 * every zone keeps every accepted reading; statistics are recomputed from
 * scratch with compensated sums for each reading; the version, the scopes and
 * the overrides are looked up afresh for each reading, and every reading
 * reconciles the zone's rule states with its version, as contract §7.2 says
 * it word for word. Nothing here is shared with the engine but the config's
 * parsing. Used only by tests, as the oracle the engine is compared with.
 */
import type { Rule, RuleVersion } from '../../src/config/types.js';

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
  severity: string;
  version: number;
  shadow?: true;
}

/** What the reference needs of a config: the window and the versions, as the config parses them. */
export interface RefRules {
  window: { size: number; paneMs: number; retain: number };
  versions: readonly RuleVersion[];
}

interface Past {
  value: number;
  pane: number;
  inPanes: boolean;
}

/** A (zone, rule id) state: FIRING or not, t0, and what the rule was when the state began (and its severity when it fired). */
interface RuleState {
  firing: boolean;
  t0: number | null;
  type: string;
  mode: string;
  shadow: boolean;
  severity: string;
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

/** Contract §7.3's globs, matched character by character (code points) by backtracking. */
export function globMatches(pattern: string, zoneId: string): boolean {
  const p = [...pattern];
  const z = [...zoneId];
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === z.length;
    if (p[i] === '*') {
      for (let k = j; k <= z.length; k++) if (match(i + 1, k)) return true;
      return false;
    }
    if (j === z.length) return false;
    return (p[i] === '?' || p[i] === z[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/** The rule as it applies to the zone (the first matching override merged on), or null when it does not apply. */
function ruleForZone(rule: Rule, zoneId: string): Rule | null {
  if (rule.zones !== undefined && !rule.zones.some((g) => globMatches(g, zoneId))) return null;
  if (rule.exceptZones?.some((g) => globMatches(g, zoneId))) return null;
  const override = rule.overrides.find((o) => o.zones.some((g) => globMatches(g, zoneId)));
  return override === undefined ? rule : ({ ...rule, ...override } as Rule);
}

function byCodePoints(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

export function referenceAlerts(lines: readonly string[], config: RefRules): { alerts: RefAlert[]; deadLines: number[] } {
  const g = config.window.paneMs;
  const W = config.window.size;
  const R = config.window.retain;
  const zones = new Map<string, { past: Past[]; states: Map<string, RuleState> }>();
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
      zone = { past: [], states: new Map() };
      zones.set(reading.zone_id, zone);
    }
    const x = reading.temperature;
    const t = reading.ts;
    const p = pane(t, g);
    const seq = zone.past.length + 1;
    const version = config.versions.filter((v) => v.effectiveFrom <= t).at(-1) as RuleVersion;
    const rules = version.rules.map((rule) => ruleForZone(rule, reading.zone_id)).filter((rule): rule is Rule => rule !== null);
    const alert = (
      rule: string,
      type: string,
      status: 'firing' | 'resolved',
      details: Record<string, number>,
      severity: string,
      shadow: boolean,
      suffix = '',
    ) => {
      alerts.push({
        alert_id: `${reading.zone_id}:${rule}:${seq}${suffix}`,
        zone_id: reading.zone_id,
        device_id: reading.device_id,
        rule,
        type,
        status,
        value: x,
        ts: t,
        seq,
        details,
        severity,
        version: version.version,
        ...(shadow ? { shadow: true as const } : {}),
      });
    };
    // §7.2: states whose rule is gone, out of scope, or of another type, mode or shadow are dropped; FIRING ones resolve as removed.
    for (const id of [...zone.states.keys()].sort(byCodePoints)) {
      const state = zone.states.get(id) as RuleState;
      const rule = rules.find((r) => r.id === id);
      if (rule !== undefined && rule.type === state.type && rule.mode === state.mode && rule.shadow === state.shadow) continue;
      zone.states.delete(id);
      if (state.firing) alert(id, state.type, 'resolved', { removed: 1 }, state.severity, state.shadow, ':removed');
    }
    const history = zone.past.slice(-W).map((r) => r.value);
    const M = zone.past.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...zone.past.map((r) => r.pane));
    const available = (q: number) => q > M - R;
    const counted = zone.past.filter((r) => r.inPanes);
    for (const rule of rules) {
      const outcome = evaluate(rule, x, p, g, history, counted, available);
      const emit = (status: 'firing' | 'resolved') => alert(rule.id, rule.type, status, outcome.details, rule.severity, rule.shadow);
      if (rule.mode === 'every') {
        if (outcome.fires) emit('firing');
        continue;
      }
      if (!outcome.evaluated) continue;
      let state = zone.states.get(rule.id);
      if (state === undefined) {
        state = { firing: false, t0: null, type: rule.type, mode: rule.mode, shadow: rule.shadow, severity: rule.severity };
        zone.states.set(rule.id, state);
      }
      if (outcome.fires) {
        // §7.4: t0 is set by the first evaluation with the condition true; an OK rule fires once t − t0 ≥ for.
        if (state.t0 === null) state.t0 = t;
        if (!state.firing && t - state.t0 >= rule.forMs) {
          state.firing = true;
          state.severity = rule.severity;
          emit('firing');
        }
      } else {
        state.t0 = null;
        if (state.firing && cleared(rule, x)) {
          state.firing = false;
          emit('resolved');
        }
      }
    }
    const inPanes = zone.past.length === 0 || available(p) || p > M;
    zone.past.push({ value: x, pane: p, inPanes });
  });
  return { alerts, deadLines };
}

/** Hysteresis (§7.4): a FIRING threshold rule resolves only at or inside its clear levels (by default its bounds). */
function cleared(rule: Rule, x: number): boolean {
  if (rule.type !== 'threshold') return true;
  const aboveOk = rule.above === undefined || x <= (rule.clearAbove ?? rule.above);
  const belowOk = rule.below === undefined || x >= (rule.clearBelow ?? rule.below);
  return aboveOk && belowOk;
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
