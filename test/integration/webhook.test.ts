/**
 * Alerts to webhook receivers from a real Kafka → engine → Kafka job (the
 * contract's sample-a): a receiver that fails at first still gets every
 * alert; one that never answers does not stop the Kafka path, and its queue
 * drops or holds back as configured.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { assertSameAlerts } from '../helpers/compare.js';
import { deliveryConfig, deliveryJob, startEngine } from '../helpers/delivery-engine.js';
import { httpReceiver, type ReceivedRequest } from '../helpers/http-receiver.js';
import { produceLines, readTopic, waitFor } from '../helpers/kafka.js';
import { readSample } from '../helpers/samples.js';

function receivedAlerts(requests: readonly ReceivedRequest[], accepted: (n: number) => boolean = () => true): Array<Record<string, unknown>> {
  return requests.filter((_, i) => accepted(i + 1)).flatMap((request) => (JSON.parse(request.body) as { alerts: Array<Record<string, unknown>> }).alerts);
}

test('a receiver that fails its first 3 requests still gets every alert, signed, each id at least once', async (t) => {
  const data = await readSample('sample-a');
  const receiver = await httpReceiver(t, (_, n) => (n <= 3 ? 503 : 200));
  const job = await deliveryJob(t);
  const config = deliveryConfig(
    job,
    [{ type: 'webhook', url: `${receiver.url}/alerts`, secret: 'shared-secret', batchSize: 200, retry: { minDelay: '20ms', maxDelay: '200ms' } }],
    data.rules,
  );
  const { engine, stop } = await startEngine(t, config);
  await produceLines(job.readings, data.lines, 3);
  await waitFor(() => engine.stats.records >= data.lines.length, 'every reading processed', 120_000);
  const [target] = engine.deliveries?.stats() ?? [];
  await waitFor(() => target?.queued === 0 && target.sent === data.alerts.length, 'every alert delivered', 30_000);
  await stop();

  const unique = new Map<string, Record<string, unknown>>();
  for (const alert of receivedAlerts(receiver.requests, (n) => n > 3)) unique.set(String(alert.alert_id), alert);
  assertSameAlerts([...unique.values()], data.alerts, 'the webhook, deduplicated by alert_id');
  const inKafka = (await readTopic(job.alerts, { count: data.alerts.length })).map((record) => JSON.parse(record.value));
  assertSameAlerts(inKafka, data.alerts, 'the alerts topic');
  for (const request of receiver.requests) {
    assert.equal(request.headers['x-klaxon-signature'], `sha256=${createHmac('sha256', 'shared-secret').update(request.body).digest('hex')}`);
  }
  assert.ok((target?.retried ?? 0) >= 3, `the failures were retried (${target?.retried})`);
  assert.equal(target?.failed, 0);
  assert.equal(target?.dropped, 0);
});

test('a receiver that never answers (drop-oldest): the Kafka path completes; the queue stays bounded, dropping its oldest', async (t) => {
  const data = await readSample('sample-a');
  const receiver = await httpReceiver(t, () => 'hang');
  const job = await deliveryJob(t);
  const config = deliveryConfig(
    job,
    [{ type: 'webhook', url: receiver.url, queueSize: 50, batchSize: 10, timeout: '300ms', drainTimeout: '200ms', overflow: 'drop-oldest' }],
    data.rules,
  );
  const { engine, stop } = await startEngine(t, config);
  await produceLines(job.readings, data.lines, 3);
  await waitFor(() => engine.stats.records >= data.lines.length, 'every reading processed', 120_000);
  const [target] = engine.deliveries?.stats() ?? [];
  assert.ok(target !== undefined);
  assert.ok(target.queued <= 50, `the queue holds at most queueSize (${target.queued})`);
  assert.ok(target.dropped > 0, 'the oldest were dropped');
  await stop();
  assert.equal(target.sent, 0);
  assert.equal(target.dropped + target.failed, data.alerts.length, 'every alert is accounted for: dropped from the full queue, or at shutdown');
  const inKafka = (await readTopic(job.alerts, { count: data.alerts.length })).map((record) => JSON.parse(record.value));
  assertSameAlerts(inKafka, data.alerts, 'the alerts topic is complete');
  assert.ok(receiver.requests.length >= 1, 'requests were made and timed out');
});

test('a receiver that never answers (block): the engine is held back with nothing dropped, and still stops when asked', async (t) => {
  const data = await readSample('sample-a');
  const receiver = await httpReceiver(t, () => 'hang');
  const job = await deliveryJob(t);
  const config = deliveryConfig(
    job,
    [{ type: 'webhook', url: receiver.url, queueSize: 100, timeout: '300ms', drainTimeout: '200ms', overflow: 'block' }],
    data.rules,
  );
  const { engine, stop } = await startEngine(t, config);
  await produceLines(job.readings, data.lines, 3);
  const [target] = engine.deliveries?.stats() ?? [];
  assert.ok(target !== undefined);
  await waitFor(() => target.queued >= 100, 'the queue to fill', 60_000);
  // Held back: reading stops (once the batches already read are done) and stays stopped.
  let last = -1;
  let quietSince = Date.now();
  await waitFor(
    () => {
      if (engine.stats.records !== last) {
        last = engine.stats.records;
        quietSince = Date.now();
      }
      return Date.now() - quietSince > 1_500;
    },
    'reading to stall',
    30_000,
  );
  assert.ok(engine.stats.records < data.lines.length, `held back (${engine.stats.records} of ${data.lines.length} read)`);
  assert.equal(target.dropped, 0, 'nothing dropped while blocking');
  const summary = await stop();
  const inKafka = await readTopic(job.alerts, { count: summary.alerts });
  assert.equal(inKafka.length, summary.alerts, 'every alert of what was read is in the alerts topic');
  assert.equal(target.sent, 0);
  assert.equal(target.dropped, summary.alerts, 'what the receiver never took is counted as dropped at shutdown');
});
