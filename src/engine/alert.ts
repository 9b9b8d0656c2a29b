import type { AlertStatus } from '../model/alert.js';
import type { PlannedRule } from '../model/plan.js';
import type { Reading } from '../model/reading.js';

/** The alert object of contract §4, as one JSON text (keys in the contract's order). */
export function formatAlert(reading: Reading, seq: number, rule: PlannedRule, status: AlertStatus, details: Record<string, number>): string {
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
