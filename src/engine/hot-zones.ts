import type { RuleIds } from '../model/plan.js';
import type { HotZone, HotZonesResult } from '../protocol/messages.js';
import { firingRuleIds, isFiring } from './rule-state.js';
import { TopN } from './top-n.js';
import type { ZoneState } from './zone-state.js';
import { latestValue } from './zone-summary.js';

interface Rank {
  firing: boolean;
  latest: number;
}

interface Candidate extends Rank {
  zoneId: string;
  zone: ZoneState;
}

/** Firing zones rank first; among equals, the hotter one. */
export function ranksBefore(a: Rank, b: Rank): boolean {
  if (a.firing !== b.firing) return a.firing;
  return a.latest > b.latest;
}

/**
 * A shard's zones worth showing on the dashboard's grid: at most `limit`,
 * firing ones first, then the hottest. One pass over the zones, no sort of
 * all of them; rule ids are only looked up for the zones kept.
 */
export function hotZones(zones: ReadonlyMap<string, ZoneState>, ids: RuleIds, limit: number): HotZonesResult {
  const top = new TopN<Candidate, Rank>(limit, ranksBefore);
  let firingZones = 0;
  // One probe reused for the comparison: most zones are not kept, and allocating for each would dominate.
  const probe: Rank = { firing: false, latest: 0 };
  for (const [zoneId, zone] of zones) {
    if (zone.count === 0) continue;
    probe.firing = isFiring(zone);
    probe.latest = latestValue(zone);
    if (probe.firing) firingZones++;
    if (top.wouldKeep(probe)) top.offer({ zoneId, zone, firing: probe.firing, latest: probe.latest });
  }
  const kept: HotZone[] = top.sorted().map(({ zoneId, zone, latest }) => ({ zoneId, latest, seq: zone.seq, firing: firingRuleIds(zone, ids, false) }));
  return { kind: 'hotZones', zones: kept, total: zones.size, firingZones };
}
