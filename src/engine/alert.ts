import type { AlertStatus } from '../model/alert.js';
import type { AlertRule } from '../model/plan.js';
import type { Reading } from '../model/reading.js';

/**
 * The alert object of contract §4 and §7 as one JSON text, keys in the
 * contract's order: a removal (§7.2) gets the `:removed` id; a shadow rule's
 * alert says so.
 */
export function formatAlert(reading: Reading, seq: number, rule: AlertRule, status: AlertStatus, details: Record<string, number>, removed: boolean): string {
  const alert = {
    alert_id: removed ? `${reading.zoneId}:${rule.id}:${seq}:removed` : `${reading.zoneId}:${rule.id}:${seq}`,
    zone_id: reading.zoneId,
    device_id: reading.deviceId,
    rule: rule.id,
    type: rule.type,
    status,
    value: reading.temperature,
    ts: reading.ts,
    seq,
    details,
    severity: rule.severity,
    version: rule.version,
  };
  return JSON.stringify(rule.shadow ? { ...alert, shadow: true } : alert);
}
