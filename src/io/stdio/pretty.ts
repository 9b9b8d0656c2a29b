/** One alert as a terminal line: time, status, zone, rule and what it saw. */
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
  };
  const paint = (code: number, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const time = new Date(alert.ts).toISOString().slice(11, 23);
  const status = alert.status === 'firing' ? paint(31, 'FIRING  ') : paint(32, 'resolved');
  const details = Object.entries(alert.details)
    .map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(3)}`)
    .join(' ');
  return `${paint(2, time)} ${status} ${paint(1, alert.zone_id.padEnd(10))} ${alert.rule.padEnd(14)} ${String(alert.value).padStart(
    8,
  )}  ${paint(2, `${alert.device_id} #${alert.seq} ${details}`)}`;
}
