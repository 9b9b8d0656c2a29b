import type { PlannedRule } from '../rules/plan.js';
import type { Reading } from './reading.js';

/** The alert object of contract §4, as one JSON text (keys in the contract's order). */
export function formatAlert(reading: Reading, seq: number, rule: PlannedRule, status: 'firing' | 'resolved', details: Record<string, number>): string {
  return JSON.stringify({
    alert_id: `${reading.zoneId}:${rule.id}:${seq}`,
    zone_id: reading.zoneId,
    device_id: reading.deviceId,
    rule: rule.id,
    type: rule.type,
    status,
    value: reading.temperature,
    ts: reading.ts,
    seq,
    details,
  });
}
