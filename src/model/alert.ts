/** An alert's status (contract §4): a rule started firing, or a firing rule stopped. */
export type AlertStatus = 'firing' | 'resolved';

/** The alert object of contract §4 and §7, as written to the sinks (keys in this order). */
export interface Alert {
  /** zone_id:rule:seq, with `:removed` for a rule state dropped by a version change. */
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
  severity: 'info' | 'warning' | 'critical';
  /** The rule set version the reading was evaluated under. */
  version: number;
  /** Present (true) only for a shadow rule's alerts, which never reach the alerts sink. */
  shadow?: true;
}
