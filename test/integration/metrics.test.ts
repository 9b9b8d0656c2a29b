import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setLogLevel } from '../../src/log.js';
import { MAX_STREAMS } from '../../src/observe/dashboard-feed.js';
import { httpReceiver } from '../helpers/http-receiver.js';
import { waitFor } from '../helpers/kafka.js';
import { pipedEngine } from '../helpers/piped-engine.js';

// Keep the test output to what the test says (the engine's info lines are not news here).
setLogLevel('warn');

/** The value of one series in Prometheus text (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function sum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('metrics: /metrics counts what the engine did; /healthz is live at once, /readyz once the pipeline runs', { timeout: 60_000 }, async (t) => {
  const engine = await pipedEngine(t, {
    window: { size: 50, pane: '1s' },
    rules: [{ id: 'too-hot', type: 'threshold', above: 89 }],
    http: { port: 0 },
  });
  const { observe } = engine;
  const get = (path: string) => fetch(`${observe.url}${path}`);
  assert.equal((await get('/healthz')).status, 200);
  const starting = await get('/readyz');
  assert.equal(starting.status, 503);
  assert.equal(((await starting.json()) as { status: string }).status, 'starting');

  const { readings, pipeline, finished } = engine.start();
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ zone_id: `z${i % 4}`, device_id: 'd', temperature: i === 21 ? 95 : 70, ts: i * 1000 }));
  lines.push('garbage', '{"zone_id":"z0","device_id":"d"}');
  readings.write(`${lines.join('\n')}\n`);

  let text = '';
  await waitFor(
    async () => {
      text = await (await get('/metrics')).text();
      // Read, processed, and seen by the workers' own stats (asked at most twice a second).
      const processed = sample(text, 'klaxon_readings_accepted_total') === 40 && sum(text, 'klaxon_readings_rejected_total') === 2;
      return sample(text, 'klaxon_readings_total') === 42 && processed && sum(text, 'klaxon_worker_zones') === 4;
    },
    'the metrics to count every reading',
    10_000,
  );
  assert.equal(sample(text, 'klaxon_readings_total'), pipeline()?.stats.records);
  assert.equal(sample(text, 'klaxon_readings_accepted_total'), 40);
  assert.equal(sum(text, 'klaxon_readings_rejected_total'), 2, 'dead letters by reason add up to every dead letter');
  assert.equal(sample(text, 'klaxon_alerts_total{rule="too-hot",status="firing",shadow="false"}'), 1);
  assert.equal(sample(text, 'klaxon_alerts_total{rule="too-hot",status="resolved",shadow="false"}'), 1);
  assert.equal(sample(text, 'klaxon_zones'), 4);
  assert.equal(sum(text, 'klaxon_worker_zones'), 4, 'each worker reports its zones');
  assert.ok(sample(text, 'klaxon_worker_queue_depth{worker="1"}') !== undefined);
  assert.equal(sample(text, 'klaxon_ready'), 1);
  assert.match(text, /# TYPE klaxon_processing_latency_seconds histogram/);
  assert.ok((sample(text, 'klaxon_processing_latency_seconds_count') ?? 0) > 0, 'finished batches are timed');
  assert.doesNotMatch(text, /reason="unclassified"/, 'every dead letter is counted under its reason');
  assert.ok((sample(text, 'klaxon_process_resident_memory_bytes') ?? 0) > 0, 'process metrics come along');
  const ready = await get('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, status: 'running' });
  assert.equal((await get('/')).status, 404, 'no dashboard unless http.dashboard');

  readings.end();
  const summary = await finished;
  assert.equal(summary.records, 42);
});

test('shadow rules: counted with shadow="true" beside the live ones; the dashboard shows each beside the rule it shadows, for the last hour', {
  timeout: 60_000,
}, async (t) => {
  const engine = await pipedEngine(t, {
    window: { size: 50, pane: '1s' },
    rules: [
      { id: 'too-hot', type: 'threshold', above: 89 },
      { id: 'too-hot-preview', type: 'threshold', above: 80, shadow: true, shadows: 'too-hot' },
      { id: 'cold-preview', type: 'threshold', below: 0, shadow: true },
    ],
    shadowSink: { type: 'file', path: 'shadow.ndjson' },
    http: { port: 0, dashboard: true },
  });
  const { observe } = engine;
  const { readings, finished } = engine.start();
  // Zone a: 85 (the preview fires), 95 (both: too-hot fires), 70 (both resolve); zone b: 85 then 70 (the preview alone).
  const temperatures = [70, 85, 95, 70, 70, 85, 70];
  const zones = ['a', 'a', 'a', 'a', 'b', 'b', 'b'];
  readings.write(`${temperatures.map((temperature, i) => JSON.stringify({ zone_id: zones[i], device_id: 'd', temperature, ts: i * 1000 })).join('\n')}\n`);
  let text = '';
  await waitFor(
    async () => {
      text = await (await fetch(`${observe.url}/metrics`)).text();
      return sum(text, 'klaxon_alerts_total') === 6;
    },
    'every alert counted',
    10_000,
  );
  assert.equal(sample(text, 'klaxon_alerts_total{rule="too-hot",status="firing",shadow="false"}'), 1);
  assert.equal(sample(text, 'klaxon_alerts_total{rule="too-hot-preview",status="firing",shadow="true"}'), 2);
  assert.equal(sample(text, 'klaxon_alerts_total{rule="too-hot-preview",status="resolved",shadow="true"}'), 2);
  assert.equal(sample(text, 'klaxon_alerts_total{rule="cold-preview",status="firing",shadow="true"}'), undefined, 'a rule that never fired has no series');

  // The dashboard's summary event carries the shadow panel.
  const controller = new AbortController();
  t.after(() => controller.abort());
  const events = await fetch(`${observe.url}/events`, { signal: controller.signal });
  const reader = (events.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let panel: unknown;
  while (panel === undefined) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the event stream stays open');
    buffered += decoder.decode(value, { stream: true });
    const summary = /event: summary\ndata: (.*)\n/.exec(buffered);
    if (summary !== null) panel = (JSON.parse(summary[1] as string) as { shadows: unknown }).shadows;
  }
  assert.deepEqual(panel, [
    { rule: 'too-hot-preview', firing: 2, shadows: 'too-hot', liveFiring: 1 },
    { rule: 'cold-preview', firing: 0, shadows: null, liveFiring: null },
  ]);
  readings.end();
  await finished;
});

test('dashboard HTTP: a malformed %-escape in a zone id is a 400, and event streams beyond the cap are refused with 503', { timeout: 60_000 }, async (t) => {
  const engine = await pipedEngine(t, {
    window: { size: 50, pane: '1s' },
    rules: [{ id: 'too-hot', type: 'threshold', above: 89 }],
    http: { port: 0, dashboard: true },
  });
  const { observe } = engine;
  const { readings, finished } = engine.start();
  assert.equal((await fetch(`${observe.url}/api/zones/%E0%A4%A`)).status, 400);
  assert.equal((await fetch(`${observe.url}/api/zones/${encodeURIComponent('zone é/1')}`)).status, 404, 'a well-formed unknown zone is still a 404');
  const streams: AbortController[] = [];
  t.after(() => {
    for (const stream of streams) stream.abort();
  });
  const open = async () => {
    const controller = new AbortController();
    streams.push(controller);
    return (await fetch(`${observe.url}/events`, { signal: controller.signal })).status;
  };
  for (let i = 0; i < MAX_STREAMS; i++) assert.equal(await open(), 200, `stream ${i + 1}`);
  assert.equal(await open(), 503, 'one stream too many');
  for (const stream of streams.splice(0)) stream.abort();
  await waitFor(async () => (await open()) === 200, 'room again once streams close', 5_000);
  readings.end();
  await finished;
});

test('metrics of a delivery sink: sent, retried, failed, dropped, queue depth and latency, by sink and destination', { timeout: 60_000 }, async (t) => {
  const receiver = await httpReceiver(t, (_, n) => (n === 1 ? 503 : 200));
  const engine = await pipedEngine(t, {
    window: { size: 50, pane: '1s' },
    rules: [{ id: 'too-hot', type: 'threshold', above: 89 }],
    http: { port: 0 },
    sink: undefined,
    sinks: [
      { type: 'file', path: 'alerts.ndjson' },
      { type: 'webhook', name: 'ops', url: `${receiver.url}/hook?token=QUERY-SECRET`, retry: { minDelay: '10ms' } },
    ],
  });
  const { readings, finished } = engine.start();
  const lines = [70, 95, 70, 96].map((temperature, i) => JSON.stringify({ zone_id: 'z', device_id: 'd', temperature, ts: i * 1000 }));
  readings.write(`${lines.join('\n')}\n`);
  const labels = `{sink="ops",target="${receiver.url}"}`;
  let text = '';
  await waitFor(
    async () => {
      text = await (await fetch(`${engine.observe.url}/metrics`)).text();
      return sample(text, `klaxon_delivery_sent_total${labels}`) === 3;
    },
    'the three alerts to be delivered',
    10_000,
  );
  assert.equal(sample(text, `klaxon_delivery_retries_total${labels}`), 1, 'the 503 was retried');
  assert.equal(sample(text, `klaxon_delivery_failed_total${labels}`), 0);
  assert.equal(sample(text, `klaxon_delivery_dropped_total${labels}`), 0);
  assert.equal(sample(text, `klaxon_delivery_queue_depth${labels}`), 0);
  assert.equal(sample(text, `klaxon_delivery_latency_seconds_count${labels}`), 3, 'each delivered alert is timed');
  assert.doesNotMatch(text, /QUERY-SECRET|\/hook/, 'the destination is named by scheme, host and port only');
  readings.end();
  await finished;
});
