import type { Alert, AlertStatus } from '../model/alert.js';

/** What an alert without a `severity` counts as (filters and the Alertmanager label). */
export const DEFAULT_SEVERITY = 'warning';

/** An alert as deliveries see it: parsed once from the record sink's text, whichever sinks take it. */
export interface DeliveredAlert {
  alertId: string;
  zoneId: string;
  deviceId: string;
  rule: string;
  /** The rule's type (threshold, zscore, …). */
  type: string;
  status: AlertStatus;
  value: number;
  /** The reading's ts (ms since the epoch). */
  ts: number;
  /** The zone's seq of the reading: a later alert of the zone has a larger one. */
  seq: number;
  details: Record<string, number>;
  severity: string;
  /** The rule set version the reading was evaluated under (0 for an alert from elsewhere without one). */
  version: number;
  /** The alert exactly as the record sink holds it (JSON text). */
  text: string;
}

/** Parses an alert record's text; undefined for text that is not an engine alert (never thrown: this runs on the alert path). */
export function parseDelivered(text: string): DeliveredAlert | undefined {
  let alert: Alert & { severity?: unknown };
  try {
    alert = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof alert !== 'object' || alert === null || typeof alert.zone_id !== 'string' || typeof alert.rule !== 'string') return undefined;
  return {
    alertId: alert.alert_id,
    zoneId: alert.zone_id,
    deviceId: alert.device_id,
    rule: alert.rule,
    type: alert.type,
    status: alert.status,
    value: alert.value,
    ts: alert.ts,
    seq: alert.seq,
    details: alert.details ?? {},
    // Every alert carries its rule's severity (contract §7.4); an alert from elsewhere without one counts as a warning.
    severity: alert.severity ?? DEFAULT_SEVERITY,
    version: typeof alert.version === 'number' ? alert.version : 0,
    text,
  };
}
