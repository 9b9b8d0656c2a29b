/** One alert as a terminal line: time, status, severity, zone, rule and what it saw. */
export function prettyAlert(json: string, colour: boolean): string {
  const alert = JSON.parse(json) as {
    zone_id: string;
    device_id: string;
    rule: string;
    type: string;
    status: string;
    value: number;
    ts: number;
    seq: number;
    details: Record<string, number>;
    severity?: string;
    version?: number;
    shadow?: boolean;
  };
  const paint = (code: number, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const time = new Date(alert.ts).toISOString().slice(11, 23);
  const status = alert.status === 'firing' ? paint(31, 'FIRING  ') : paint(32, 'resolved');
  const severity = alert.severity === 'critical' ? paint(31, 'crit') : alert.severity === 'info' ? paint(2, 'info') : 'warn';
  const tags = `${alert.shadow ? ' shadow' : ''}${alert.version !== undefined && alert.version > 1 ? ` v${alert.version}` : ''}`;
  const details = Object.entries(alert.details)
    .map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(3)}`)
    .join(' ');
  return `${paint(2, time)} ${status} ${severity} ${paint(1, alert.zone_id.padEnd(10))} ${alert.rule.padEnd(14)} ${String(alert.value).padStart(
    8,
  )}  ${paint(2, `${alert.device_id} #${alert.seq} ${details}${tags}`)}`;
}
