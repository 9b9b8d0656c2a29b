/**
 * Alerts to a real Alertmanager (Debian's prometheus-alertmanager, started
 * by services/up.sh; tests that restart one start their own), from a real
 * Kafka → engine → Kafka job. Each test uses its own topics, zones and labels.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ALERTMANAGER_URL, activeAlerts, type GettableAlert, ownAlertmanager } from '../helpers/alertmanager.js';
import { deliveryConfig, deliveryJob, REDIS_URL, reading, startEngine } from '../helpers/delivery-engine.js';
import { httpReceiver } from '../helpers/http-receiver.js';
import { produceLines, readTopic, waitFor } from '../helpers/kafka.js';

const zoneName = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** Polls for `ms`, failing as soon as `check` does not hold: "stays so for a while". */
async function holdsFor(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.ok(await check(), what);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('an anomaly appears in Alertmanager with its labels within seconds, stays active while firing, and resolves', async (t) => {
  const job = await deliveryJob(t);
  const run = randomUUID().slice(0, 8);
  const config = deliveryConfig(job, [{ type: 'alertmanager', urls: [ALERTMANAGER_URL], labels: { test_run: run }, resendInterval: '1s' }]);
  await startEngine(t, config, { dashboardUrl: 'http://klaxon.test:9464' });
  const zone = zoneName('boiler room/1');
  const firedAt = Date.now();
  await produceLines(job.readings, [reading(zone, 21.5, firedAt - 1_000), reading(zone, 95.25, firedAt)], 3);

  let seen: GettableAlert | undefined;
  await waitFor(
    async () => {
      [seen] = await activeAlerts(ALERTMANAGER_URL, { test_run: run, zone_id: zone });
      return seen !== undefined;
    },
    'the alert in Alertmanager',
    10_000,
  );
  const firstSeenAt = Date.now();
  assert.deepEqual(seen?.labels, { alertname: 'too-hot', zone_id: zone, severity: 'warning', rule_type: 'threshold', test_run: run });
  assert.equal(seen?.annotations.value, '95.25');
  assert.equal(seen?.annotations.summary, `too-hot (threshold) fired in zone ${zone} at 95.25`);
  assert.equal(seen?.annotations.alert_id, `${zone}:too-hot:2`);
  // Compared as times: Alertmanager writes them as Go does, without trailing zeros (…46.36Z for …46.360Z).
  assert.equal(Date.parse(seen?.startsAt ?? ''), firedAt, "startsAt is the firing reading's ts");
  assert.equal(seen?.generatorURL, `http://klaxon.test:9464/?zone=${encodeURIComponent(zone)}`);
  assert.equal(seen?.status.state, 'active');

  // Each send is valid for 4 resend intervals (4 s): active for longer means it was sent again, with a later end.
  await holdsFor(6_000, 'the alert stays active while the zone is FIRING', async () => (await activeAlerts(ALERTMANAGER_URL, { zone_id: zone })).length === 1);
  const [later] = await activeAlerts(ALERTMANAGER_URL, { zone_id: zone });
  assert.ok(Date.parse(later?.updatedAt ?? '') > firstSeenAt, 're-sent meanwhile');
  assert.ok(Date.parse(later?.endsAt ?? '') > Date.now(), 'its end moved on');
  assert.equal(Date.parse(later?.startsAt ?? ''), firedAt, 'with the start it fired with');

  await produceLines(job.readings, [reading(zone, 22, Date.now())], 3);
  await waitFor(async () => (await activeAlerts(ALERTMANAGER_URL, { zone_id: zone })).length === 0, 'the alert to resolve', 10_000);
  const written = (await readTopic(job.alerts, { count: 2 })).map((record) => JSON.parse(record.value).status);
  assert.deepEqual(written, ['firing', 'resolved'], 'the Kafka path is unchanged');
});

test('an Alertmanager restart loses nothing still firing: the re-send brings it back; a resolve ends at its reading ts', async (t) => {
  const notifications = await httpReceiver(t);
  const alertmanager = await ownAlertmanager(t, { notify: `${notifications.url}/notify` });
  const job = await deliveryJob(t);
  const config = deliveryConfig(job, [{ type: 'alertmanager', urls: alertmanager.url, resendInterval: '1s' }]);
  const { engine } = await startEngine(t, config);
  const [a, b] = [zoneName('line-a'), zoneName('line-b')];
  const now = Date.now();
  await produceLines(job.readings, [reading(a, 20, now - 1_000), reading(b, 20, now - 1_000), reading(a, 97, now), reading(b, 98, now)], 3);
  const bothActive = async () => (await activeAlerts(alertmanager.url, { alertname: 'too-hot' })).length === 2;
  await waitFor(bothActive, 'both alerts in Alertmanager', 10_000);

  const restartedAt = Date.now();
  await alertmanager.restart();
  await waitFor(bothActive, 'both alerts back after the restart', 10_000);
  const back = await activeAlerts(alertmanager.url, { alertname: 'too-hot' });
  assert.ok(
    back.every((alert) => Date.parse(alert.updatedAt) >= restartedAt),
    'sent again after the restart',
  );
  assert.deepEqual(
    back.map((alert) => Date.parse(alert.startsAt)),
    [now, now],
    'with the start they fired with',
  );

  const resolvedAt = Date.now();
  await produceLines(job.readings, [reading(a, 20, resolvedAt)], 3);
  const resolvedNotice = () =>
    notifications.requests
      .flatMap((request) => (JSON.parse(request.body) as { alerts: Array<{ status: string; labels: Record<string, string>; endsAt: string }> }).alerts)
      .find((alert) => alert.status === 'resolved' && alert.labels.zone_id === a);
  await waitFor(() => resolvedNotice() !== undefined, 'Alertmanager to notify the resolve', 15_000);
  assert.equal(Date.parse(resolvedNotice()?.endsAt ?? ''), resolvedAt, "endsAt is the resolving reading's ts");
  assert.deepEqual(
    (await activeAlerts(alertmanager.url, { alertname: 'too-hot' })).map((alert) => alert.labels.zone_id),
    [b],
    'the other one is still active',
  );
  const [target] = engine.deliveries?.stats() ?? [];
  assert.ok((target?.resent ?? 0) > 0, 'counted as re-sends');
});

test('after an engine restart, what is FIRING comes from the restored state and is sent again', async (t) => {
  const job = await deliveryJob(t);
  const state = { state: { type: 'redis', url: REDIS_URL, prefix: job.prefix, snapshotInterval: '200ms' } };
  const before = await ownAlertmanager(t);
  const first = await startEngine(t, deliveryConfig(job, [{ type: 'alertmanager', urls: before.url, resendInterval: '1s' }], state));
  const [hot, calm] = [zoneName('kiln'), zoneName('dryer')];
  const now = Date.now();
  await produceLines(
    job.readings,
    [reading(hot, 20, now - 2_000), reading(calm, 20, now - 2_000), reading(hot, 99, now - 1_000), reading(calm, 99, now - 1_000), reading(calm, 20, now)],
    3,
  );
  await waitFor(() => first.engine.stats.records === 5, 'the readings to be processed', 10_000);
  await waitFor(async () => (await activeAlerts(before.url, { zone_id: hot })).length === 1, 'the alert in the first Alertmanager', 10_000);
  await first.stop();

  // An Alertmanager that never heard of it, and an engine that sends it no new readings.
  const after = await ownAlertmanager(t);
  const restartedAt = Date.now();
  const second = await startEngine(t, deliveryConfig(job, [{ type: 'alertmanager', urls: after.url, resendInterval: '1s' }], state));
  await waitFor(async () => (await activeAlerts(after.url, { alertname: 'too-hot' })).length === 1, 'the FIRING alert, sent again', 10_000);
  const [resent] = await activeAlerts(after.url, { alertname: 'too-hot' });
  assert.deepEqual(resent?.labels, { alertname: 'too-hot', zone_id: hot, severity: 'warning', rule_type: 'threshold' });
  assert.ok(Date.parse(resent?.startsAt ?? '') >= restartedAt, 'the restored state keeps no start: it starts when found');
  assert.equal(second.engine.stats.records, 0, 'no reading was read again');
});
