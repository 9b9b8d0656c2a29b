/** An alert's status (contract §4): a rule started firing, or a firing rule stopped. */
export type AlertStatus = 'firing' | 'resolved';

/** The alert object of contract §4, as written to the sinks (keys in this order). */
export interface Alert {
  alert_id: string;
  zone_id: string;
  device_id: string;
  rule: string;
  type: string;
  status: AlertStatus;
  value: number;
  ts: number;
  seq: number;
  details: Record<string, number>;
}
