import type { RuleIds } from '../model/plan.js';
import type { ZoneHistory } from '../protocol/messages.js';
import { firingRuleIds } from './rule-state.js';
import type { ZoneState } from './zone-state.js';

/**
 * Read-only views of one zone's state for operators (dashboard, `klaxon state
 * inspect`). Nothing here changes the zone, so the alert path is unaffected.
 */

/** The latest accepted temperature: the history slot just before `head`. */
export function latestValue(zone: ZoneState): number {
  const w = zone.history.size;
  return zone.history.at((zone.head - 1 + w) % w);
}

/** The last `limit` values of the history ring, oldest first. */
export function recentValues(zone: ZoneState, limit: number): Float64Array {
  const w = zone.history.size;
  const n = Math.min(limit, zone.count);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = zone.history.at((zone.head - n + i + w) % w);
  return out;
}

/** Statistics and the latest values of a zone; mean and σ the exact two-pass way (it is not the hot path). */
export function summarizeZone(zoneId: string, zone: ZoneState, ids: RuleIds, limit: number): ZoneHistory {
  const moments = { mean: Number.NaN, std: Number.NaN };
  if (zone.count > 0) zone.exactMoments(moments);
  return {
    zoneId,
    seq: zone.seq,
    count: zone.count,
    values: recentValues(zone, limit),
    mean: zone.count > 0 ? moments.mean : null,
    std: zone.count > 0 ? moments.std : null,
    firing: firingRuleIds(zone, ids, false),
    shadowFiring: firingRuleIds(zone, ids, true),
  };
}
