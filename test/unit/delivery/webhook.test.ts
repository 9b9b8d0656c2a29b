import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import type { WebhookConfig } from '../../../src/config/types.js';
import { parseDelivered } from '../../../src/delivery/alert.js';
import { SIGNATURE_HEADER, signature, WebhookSink, webhookBody } from '../../../src/delivery/webhook.js';
import { type Answer, httpReceiver } from '../../helpers/http-receiver.js';
import { waitFor } from '../../helpers/kafka.js';

function webhook(sink: Record<string, unknown>): WebhookConfig {
  const config = parseConfig(
    { source: { type: 'stdin' }, sinks: [{ type: 'stdout' }, { type: 'webhook', ...sink }], rules: [{ id: 't', type: 'threshold', above: 1 }] },
    { baseDir: '/', env: {} },
  );
  const delivery = config.deliveries[0];
  assert.ok(delivery?.type === 'webhook');
  return delivery;
}

function alertText(zone: string, seq: number, status = 'firing'): string {
  return JSON.stringify({
    alert_id: `${zone}:hot:${seq}`,
    zone_id: zone,
    device_id: 'd',
    rule: 'hot',
    type: 'threshold',
    status,
    value: 95.5,
    ts: 1_760_000_000_000 + seq,
    seq,
    details: {},
  });
}

const alerts = (texts: string[]) => texts.map((text) => parseDelivered(text) ?? assert.fail(text));

async function sink(t: TestContext, config: Record<string, unknown>, answer?: Answer) {
  const receiver = await httpReceiver(t, answer);
  const webhookSink = new WebhookSink(webhook({ url: `${receiver.url}/hooks/klaxon?team=ops`, retry: { minDelay: 1, maxDelay: 5 }, ...config }));
  t.after(() => webhookSink.close());
  return { receiver, webhookSink };
}

describe('signature', () => {
  test('is the hex HMAC-SHA256 of the body (RFC 4231, test case 2)', () => {
    assert.equal(signature('Jefe', 'what do ya want for nothing?'), 'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  test('covers the body as sent, in UTF-8', () => {
    const body = webhookBody([alertText('zone-é', 1)]);
    assert.equal(signature('k', body), `sha256=${createHmac('sha256', 'k').update(Buffer.from(body, 'utf8')).digest('hex')}`);
    assert.notEqual(signature('k', body), signature('k', body.replace('é', 'e')));
  });
});

describe('webhook sink', () => {
  test('POSTs {"alerts": [...]} with each alert exactly as the record sink holds it, signed, with the configured headers', async (t) => {
    const { receiver, webhookSink } = await sink(t, { secret: 'shh', headers: { 'x-team-token': 'abc' } });
    const texts = [alertText('z1', 1), alertText('z2', 7), alertText('z1', 2, 'resolved')];
    webhookSink.deliver(0, alerts(texts));
    await waitFor(() => receiver.requests.length === 1, 'the batch');
    const [request] = receiver.requests;
    assert.ok(request !== undefined);
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/hooks/klaxon?team=ops');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['x-team-token'], 'abc');
    assert.deepEqual(JSON.parse(request.body), { alerts: texts.map((text) => JSON.parse(text)) });
    assert.equal(request.headers[SIGNATURE_HEADER], `sha256=${createHmac('sha256', 'shh').update(request.body).digest('hex')}`);
  });

  test('without a secret there is no signature header; a user and password in the URL become Basic authorization', async (t) => {
    const receiver = await httpReceiver(t);
    const webhookSink = new WebhookSink(webhook({ url: receiver.url.replace('http://', 'http://alice:s%40cret@') }));
    t.after(() => webhookSink.close());
    webhookSink.deliver(0, alerts([alertText('z', 1)]));
    await waitFor(() => receiver.requests.length === 1, 'the batch');
    assert.equal(receiver.requests[0]?.headers[SIGNATURE_HEADER], undefined);
    assert.equal(receiver.requests[0]?.headers.authorization, `Basic ${Buffer.from('alice:s@cret').toString('base64')}`);
  });

  test('the filter decides which alerts go', async (t) => {
    const { receiver, webhookSink } = await sink(t, { filter: { zones: ['z1'], status: ['firing'] } });
    webhookSink.deliver(0, alerts([alertText('z1', 1), alertText('z2', 1), alertText('z1', 2, 'resolved'), alertText('z1', 3)]));
    await waitFor(() => receiver.requests.length === 1, 'the batch');
    assert.deepEqual(
      (JSON.parse(receiver.requests[0]?.body ?? '') as { alerts: Array<{ alert_id: string }> }).alerts.map((a) => a.alert_id),
      ['z1:hot:1', 'z1:hot:3'],
    );
  });

  test('batches hold at most batchSize alerts, in order', async (t) => {
    const { receiver, webhookSink } = await sink(t, { batchSize: 2 });
    webhookSink.deliver(0, alerts([1, 2, 3, 4, 5].map((seq) => alertText('z', seq))));
    await waitFor(() => receiver.requests.reduce((n, r) => n + JSON.parse(r.body).alerts.length, 0) === 5, 'every alert');
    assert.ok(receiver.requests.every((r) => JSON.parse(r.body).alerts.length <= 2));
    assert.deepEqual(
      receiver.requests.flatMap((r) => (JSON.parse(r.body) as { alerts: Array<{ seq: number }> }).alerts.map((a) => a.seq)),
      [1, 2, 3, 4, 5],
    );
  });

  test('secrets stay out of logs and metrics: the secret, headers, the URL user, password, path and query', async (t) => {
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (write as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean)(chunk, ...rest);
    });
    const receiver = await httpReceiver(t, (_, n) => (n <= 2 ? 503 : 400));
    const url = receiver.url.replace('http://', 'http://bob:pa55word@');
    const webhookSink = new WebhookSink(
      webhook({
        url: `${url}/hook/T0KEN-IN-PATH?key=QUERY-KEY`,
        secret: 'hmac-secret',
        headers: { authorization: 'Bearer HEADER-TOKEN' },
        retry: { minDelay: 1 },
      }),
    );
    t.after(() => webhookSink.close());
    webhookSink.deliver(0, alerts([alertText('z', 1)]));
    const [target] = webhookSink.targets;
    await waitFor(() => target?.stats.failed === 1, 'the 400 to give the batch up');
    const text = logged.join('');
    assert.match(text, /delivery failed, retrying/);
    assert.match(text, /delivery failed: alerts given up/);
    assert.ok(text.includes(receiver.url), 'logs name the destination by scheme, host and port');
    for (const secret of ['hmac-secret', 'HEADER-TOKEN', 'bob', 'pa55word', 'T0KEN-IN-PATH', 'QUERY-KEY']) {
      assert.ok(!text.includes(secret), `${secret} is not logged`);
      assert.ok(!JSON.stringify(target?.stats).includes(secret), `${secret} is not in the stats`);
    }
    assert.equal(target?.stats.target, receiver.url);
  });
});
