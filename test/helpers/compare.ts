import assert from 'node:assert/strict';

type Alert = Record<string, unknown>;

const FIELDS = ['alert_id', 'zone_id', 'device_id', 'rule', 'type', 'status', 'value', 'ts', 'seq'] as const;
/** Contract v2's fields (§7.4), compared wherever the expected alerts have them (the v1 samples' alerts do not). */
const V2_FIELDS = ['severity', 'version'] as const;

/**
 * Asserts two alert collections are the same set keyed by alert_id + status:
 * identical fields, details within a relative 1e-6 (the samples' tolerance);
 * `severity` and `version` where the expected alerts carry them, and
 * `shadow` always (absent means not a shadow alert). Failure messages show
 * the first few differences, not thousands of lines.
 */
export function assertSameAlerts(actualAlerts: readonly object[], expectedAlerts: readonly object[], label = ''): void {
  // Engine output is parsed JSON, the reference builds typed objects: both are compared field by field.
  const actual = actualAlerts as readonly Alert[];
  const expected = expectedAlerts as readonly Alert[];
  const key = (a: Alert) => `${a.alert_id}|${a.status}`;
  const got = new Map(actual.map((a) => [key(a), a]));
  const want = new Map(expected.map((a) => [key(a), a]));
  assert.equal(got.size, actual.length, `${label}: duplicate alert_id+status in the output`);
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  assert.deepEqual(
    { missing: missing.slice(0, 5), extra: extra.slice(0, 5), missingCount: missing.length, extraCount: extra.length },
    { missing: [], extra: [], missingCount: 0, extraCount: 0 },
    `${label}: alert sets differ`,
  );
  for (const [k, w] of want) {
    const g = got.get(k) as Alert;
    for (const field of FIELDS) assert.equal(g[field], w[field], `${label}: ${k}: field ${field}`);
    for (const field of V2_FIELDS) if (field in w) assert.equal(g[field], w[field], `${label}: ${k}: field ${field}`);
    assert.equal(g.shadow ?? false, w.shadow ?? false, `${label}: ${k}: field shadow`);
    const wd = w.details as Record<string, number>;
    const gd = g.details as Record<string, number>;
    assert.deepEqual(Object.keys(gd).sort(), Object.keys(wd).sort(), `${label}: ${k}: detail keys`);
    for (const [name, value] of Object.entries(wd)) {
      const tolerance = 1e-6 * Math.max(1, Math.abs(value));
      assert.ok(Math.abs((gd[name] as number) - value) <= tolerance, `${label}: ${k}: details.${name} ${gd[name]} vs ${value}`);
    }
  }
}

/** Within one zone, alerts must come in seq order (and rule order within a reading: checked by the caller's data). */
export function assertZoneOrder(alerts: readonly Alert[]): void {
  const last = new Map<string, number>();
  for (const alert of alerts) {
    const zone = alert.zone_id as string;
    const seq = alert.seq as number;
    assert.ok(seq >= (last.get(zone) ?? 0), `alerts of ${zone} out of order: seq ${seq} after ${last.get(zone)}`);
    last.set(zone, seq);
  }
}
