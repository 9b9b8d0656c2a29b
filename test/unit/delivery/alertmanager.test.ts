/**
 * The Alertmanager sink against in-process HTTP receivers standing in for
 * Alertmanager's API (the integration tests use the real one): what each
 * alert becomes, what is re-sent and when, and what a restart recovers.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import type { AlertmanagerConfig, KlaxonConfig, RuleVersion } from '../../../src/config/types.js';
import { parseDelivered } from '../../../src/delivery/alert.js';
import { AlertmanagerSink } from '../../../src/delivery/alertmanager.js';
import type { PostableAlert } from '../../../src/delivery/alertmanager-alerts.js';
import { type Answer, httpReceiver } from '../../helpers/http-receiver.js';
import { waitFor } from '../../helpers/kafka.js';

const T0 = Date.UTC(2030, 0, 1);

function config(sink: Record<string, unknown>, mode: 'edge' | 'every' = 'edge'): KlaxonConfig {
  return parseConfig(
    {
      source: { type: 'stdin' },
      sinks: [{ type: 'stdout' }, { type: 'alertmanager', ...sink }],
      rules: [
        { id: 'hot', type: 'threshold', above: 90 },
        { id: 'spiky', type: 'zscore', mode },
      ],
    },
    { baseDir: '/', env: {} },
  );
}

function text(zone: string, rule: string, seq: number, status: 'firing' | 'resolved', ts = T0 + seq * 1_000): string {
  const type = rule === 'hot' ? 'threshold' : 'zscore';
  const details = rule === 'hot' ? {} : { mean: 20, std: 1.5, z: 4.2 };
  return JSON.stringify({
    alert_id: `${zone}:${rule}:${seq}`,
    zone_id: zone,
    device_id: 'd1',
    rule,
    type,
    status,
    value: 95.5,
    ts,
    seq,
    details,
    severity: 'warning',
    version: 1,
  });
}

const alert = (...args: Parameters<typeof text>) => parseDelivered(text(...args)) ?? assert.fail('an alert');

interface Harness {
  sink: AlertmanagerSink;
  receivers: Array<Awaited<ReturnType<typeof httpReceiver>>>;
  answers: Answer[];
  clock: { now: number };
  /** The versions the sink sees: a test may add one, as the rules channel does. */
  versions: RuleVersion[];
}

async function harness(t: TestContext, sink: Record<string, unknown>, answers: Answer[] = [() => 200], mode: 'edge' | 'every' = 'edge'): Promise<Harness> {
  const receivers = await Promise.all(answers.map((answer) => httpReceiver(t, answer)));
  const engineConfig = config({ urls: receivers.map((r) => r.url), retry: { minDelay: 1, maxDelay: 5 }, ...sink }, mode);
  const delivery = engineConfig.deliveries[0] as AlertmanagerConfig;
  const clock = { now: T0 + 60_000 };
  const versions = [...engineConfig.versions];
  const alertmanager = new AlertmanagerSink(delivery, { versions: () => versions, dashboardUrl: 'http://klaxon.example:9464/', now: () => clock.now });
  t.after(() => alertmanager.close());
  return { sink: alertmanager, receivers, answers, clock, versions };
}

/** The batches one receiver accepted (answered 200), in order. */
function batches(h: Harness, receiver = 0): PostableAlert[][] {
  const answer = h.answers[receiver] as Answer;
  return (h.receivers[receiver]?.requests ?? []).filter((request, i) => answer(request, i + 1) === 200).map((request) => JSON.parse(request.body));
}

/** Every alert one receiver accepted, in order. */
function got(h: Harness, receiver = 0): PostableAlert[] {
  return batches(h, receiver).flat();
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('what Alertmanager gets', () => {
  test('labels alertname, zone_id, severity, rule_type and the static ones; a summary, the value and the details; startsAt the reading ts; a link to the zone', async (t) => {
    const h = await harness(t, { labels: { team: 'plant-ops' }, resendInterval: '1m' });
    h.sink.deliver(0, [alert('zone 7/b', 'spiky', 3, 'firing')]);
    await waitFor(() => got(h).length === 1, 'the alert');
    assert.deepEqual(got(h)[0], {
      labels: { team: 'plant-ops', alertname: 'spiky', zone_id: 'zone 7/b', severity: 'warning', rule_type: 'zscore' },
      annotations: {
        summary: 'spiky (zscore) fired in zone zone 7/b at 95.5',
        value: '95.5',
        details: '{"mean":20,"std":1.5,"z":4.2}',
        alert_id: 'zone 7/b:spiky:3',
      },
      generatorURL: 'http://klaxon.example:9464/?zone=zone%207%2Fb',
      startsAt: iso(T0 + 3_000),
      // Valid for four resend intervals from when it was sent.
      endsAt: iso(h.clock.now + 4 * 60_000),
    });
  });

  test('a resolve ends the alert at the resolving reading ts, with the labels, start and description it fired with', async (t) => {
    const h = await harness(t, {});
    h.sink.deliver(0, [alert('z', 'hot', 1, 'firing'), alert('z', 'hot', 5, 'resolved')]);
    await waitFor(() => got(h).length === 2, 'both');
    const [fired, resolved] = got(h);
    assert.deepEqual(resolved, { ...fired, endsAt: iso(T0 + 5_000) });
  });

  test('an end is never before the start: a late resolving reading, and readings stamped in the future', async (t) => {
    const h = await harness(t, { resendInterval: '10s' });
    h.sink.deliver(0, [alert('late', 'hot', 1, 'firing', T0 + 9_000), alert('late', 'hot', 2, 'resolved', T0 + 8_000)]);
    h.sink.deliver(0, [alert('future', 'hot', 1, 'firing', h.clock.now + 3_600_000)]);
    await waitFor(() => got(h).length === 3, 'all three');
    const [, lateResolved, future] = got(h);
    assert.equal(lateResolved?.endsAt, iso(T0 + 9_000));
    assert.equal(future?.endsAt, iso(h.clock.now + 3_600_000 + 40_000));
  });

  test('each Alertmanager of a cluster gets every alert, and one that is down holds back none of the others', async (t) => {
    const h = await harness(t, {}, [() => 200, () => 503]);
    h.sink.deliver(0, [alert('z', 'hot', 1, 'firing')]);
    await waitFor(() => got(h, 0).length === 1, 'the healthy one');
    const [healthy, down] = h.sink.targets;
    await waitFor(() => (down?.stats.retried ?? 0) >= 2, 'the other to be retried');
    assert.equal(healthy?.stats.sent, 1);
    assert.equal(down?.stats.sent, 0);
  });
});

describe('re-sending', () => {
  test('FIRING alerts are sent again every resendInterval with a moving end; resolved ones are not', async (t) => {
    const h = await harness(t, { resendInterval: 40 });
    h.sink.deliver(0, [alert('a', 'hot', 1, 'firing'), alert('b', 'hot', 1, 'firing'), alert('b', 'hot', 2, 'resolved')]);
    await waitFor(() => batches(h).length >= 1, 'the alerts');
    assert.deepEqual(
      batches(h)[0]?.map((a) => a.annotations.alert_id),
      ['a:hot:1', 'b:hot:1', 'b:hot:1'],
      'the alerts as they came (the resolve describes the firing it ends)',
    );
    h.clock.now += 1_000;
    const moved = iso(h.clock.now + 160);
    await waitFor(() => got(h).some((a) => a.endsAt === moved), 'a re-send after the clock moved');
    const resent = batches(h).slice(1).flat();
    assert.ok(resent.length > 0 && resent.every((a) => a.labels.zone_id === 'a'), 'only the FIRING one is re-sent');
    assert.ok(
      resent.every((a) => a.startsAt === iso(T0 + 1_000)),
      'with the same start',
    );
    assert.ok((h.sink.targets[0]?.stats.resent ?? 0) >= 1);
  });

  test('alerts of `every` rules are sent as they come and expire: they are never re-sent', async (t) => {
    const h = await harness(t, { resendInterval: 20 }, undefined, 'every');
    h.sink.deliver(0, [alert('a', 'spiky', 1, 'firing'), alert('a', 'spiky', 2, 'firing')]);
    await waitFor(() => got(h).length === 2, 'both');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(got(h).length, 2);
    assert.equal(h.sink.targets[0]?.stats.resent, 0);
  });

  test('a version published while the engine runs decides the mode of the alerts raised under it', async (t) => {
    const h = await harness(t, { resendInterval: 20 });
    const first = h.versions[0] ?? assert.fail('version 1');
    h.versions.push({ ...first, version: 2, effectiveFrom: T0, rules: first.rules.map((rule) => ({ ...rule, mode: 'every' })) });
    const underVersion2 = parseDelivered(text('a', 'hot', 1, 'firing').replace('"version":1', '"version":2')) ?? assert.fail('an alert');
    h.sink.deliver(0, [underVersion2, alert('b', 'hot', 1, 'firing')]);
    await waitFor(() => (h.sink.targets[0]?.stats.resent ?? 0) >= 2, 'two re-send rounds');
    const resent = got(h).slice(2);
    assert.ok(resent.length >= 2);
    assert.ok(
      resent.every((a) => a.labels.zone_id === 'b'),
      'the `every` alert of version 2 is not re-sent; the edge alert of version 1 is',
    );
  });

  test('an alert older than one already seen for its zone and rule changes nothing', async (t) => {
    const h = await harness(t, { resendInterval: 30 });
    h.sink.deliver(0, [alert('a', 'hot', 5, 'resolved'), alert('a', 'hot', 3, 'firing')]);
    await waitFor(() => got(h).length === 1, 'the resolve');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual(
      got(h).map((a) => a.annotations.alert_id),
      ['a:hot:5'],
      'the older firing is neither sent nor re-sent',
    );
  });
});

describe('after a restart', () => {
  test('rules FIRING in the restored state are sent at once, starting when found, with the type and severity they fired under, and re-sent', async (t) => {
    const h = await harness(t, { resendInterval: 50, filter: { zones: ['keep-*'] } });
    h.sink.recovered(2, [
      { zoneId: 'keep-1', rule: 'hot', type: 'threshold', severity: 'warning', seq: 40 },
      { zoneId: 'drop-1', rule: 'hot', type: 'threshold', severity: 'warning', seq: 9 },
      // A rule no version in force has any more: FIRING until the zone's next reading resolves it as removed.
      { zoneId: 'keep-2', rule: 'retired-rule', type: 'zscore', severity: 'critical', seq: 3 },
    ]);
    await waitFor(() => got(h).length >= 2, 'the recovered alerts');
    const labels = (zone: string) => got(h).find((a) => a.labels.zone_id === zone)?.labels;
    assert.deepEqual(labels('keep-1'), { alertname: 'hot', zone_id: 'keep-1', severity: 'warning', rule_type: 'threshold' });
    assert.deepEqual(labels('keep-2'), { alertname: 'retired-rule', zone_id: 'keep-2', severity: 'critical', rule_type: 'zscore' });
    assert.equal(got(h)[0]?.startsAt, iso(h.clock.now));
    assert.equal(labels('drop-1'), undefined, 'a filtered-out zone is left out');
    h.sink.deliver(2, [alert('keep-2', 'retired-rule', 4, 'resolved')]);
    // A replayed alert older than the restored state changes nothing; a newer one applies, without being sent.
    h.sink.restate(2, [alert('keep-1', 'hot', 40, 'resolved')]);
    h.sink.restate(2, [alert('keep-1', 'hot', 41, 'resolved'), alert('keep-3', 'hot', 7, 'firing')]);
    const roundAfter = () => batches(h).find((batch) => batch.some((a) => a.labels.zone_id === 'keep-3'));
    await waitFor(() => roundAfter() !== undefined, 'a re-send round after the replay');
    const after = roundAfter() ?? [];
    assert.deepEqual(
      after.map((a) => a.labels.zone_id),
      ['keep-3'],
      'keep-1, resolved by the replay, and keep-2, resolved since, are no longer re-sent; keep-3, fired in the replay, is',
    );
    assert.equal(after[0]?.startsAt, iso(T0 + 7_000), 'a replayed firing keeps its reading ts');
  });

  test('a revoked partition is no longer re-sent from here: its new owner does that', async (t) => {
    const h = await harness(t, { resendInterval: 30 });
    h.sink.deliver(1, [alert('p1', 'hot', 1, 'firing')]);
    h.sink.deliver(2, [alert('p2', 'hot', 1, 'firing')]);
    await waitFor(() => got(h).length >= 2, 'both');
    h.sink.revoked([1]);
    const before = got(h).length;
    await waitFor(() => got(h).length >= before + 2, 'two more re-sends');
    assert.ok(
      got(h)
        .slice(before + 1)
        .every((a) => a.labels.zone_id === 'p2'),
    );
  });
});
