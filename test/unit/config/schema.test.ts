import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { consumerSettings } from '../../../src/io/kafka/options.js';

const parse = (raw: unknown) => parseConfig(raw, { baseDir: '/', env: {} });

/** Each duration key of withDurations, as milliseconds and as a string. */
const DURATIONS = {
  commitInterval: [2_000, '2s'],
  fetchMaxWait: [20, '20ms'],
  linger: [10, '10ms'],
  deadLetterLinger: [0, '0ms'],
  snapshotInterval: [90_000, '1.5m'],
  pane: [1_500, '1.5s'],
  span: [300_000, '5m'],
  lag: [3_600_000, '1h'],
} as const;

/** A config that sets every duration key, each written in the form `form` (0: ms, 1: string). */
function withDurations(form: 0 | 1): Record<string, unknown> {
  const d = (key: keyof typeof DURATIONS) => DURATIONS[key][form];
  return {
    source: { type: 'kafka', topic: 'readings', groupId: 'g', commitInterval: d('commitInterval'), fetchMaxWait: d('fetchMaxWait') },
    sink: { type: 'kafka', topic: 'alerts', linger: d('linger') },
    deadLetter: { type: 'kafka', topic: 'dead', linger: d('deadLetterLinger') },
    state: { type: 'redis', snapshotInterval: d('snapshotInterval') },
    window: { pane: d('pane') },
    rules: [
      { id: 'avg', type: 'window_avg', span: d('span') },
      { id: 'roc', type: 'rate_of_change', lag: d('lag') },
    ],
  };
}

describe('durations', () => {
  test('a duration given as milliseconds or as a string normalises the same', () => {
    const fromNumbers = parse(withDurations(0));
    assert.deepEqual(parse(withDurations(1)), fromNumbers);
    assert.equal(fromNumbers.window.paneMs, 1_500);
    assert.deepEqual(
      fromNumbers.versions[0]?.rules.map((rule) => (rule.type === 'window_avg' ? rule.spanMs : rule.type === 'rate_of_change' ? rule.lagMs : undefined)),
      [300_000, 3_600_000],
    );
    assert.equal(fromNumbers.source.type === 'kafka' && fromNumbers.source.commitIntervalMs, 2_000);
    assert.equal(fromNumbers.source.type === 'kafka' && fromNumbers.source.fetchMaxWaitMs, 20);
    assert.equal(fromNumbers.sink.type === 'kafka' && fromNumbers.sink.lingerMs, 10);
    assert.equal(fromNumbers.deadLetter.type === 'kafka' && fromNumbers.deadLetter.lingerMs, 0);
    assert.equal(fromNumbers.state.type === 'redis' && fromNumbers.state.snapshotIntervalMs, 90_000);
  });

  test('the generator step: given either way, or one second spread over the zones', () => {
    const generator = (step?: number | string) =>
      parse({ source: { type: 'generator', zones: 8, step }, sink: { type: 'stdout' }, rules: [{ id: 't', type: 'threshold', above: 1 }] }).source;
    assert.deepEqual(generator('250ms'), generator(250));
    const given = generator(250);
    assert.equal(given.type === 'generator' && given.stepMs, 250);
    const spread = generator();
    assert.equal(spread.type === 'generator' && spread.stepMs, 125);
  });

  test('durations that must be positive refuse zero in either form', () => {
    for (const pane of [0, '0s']) {
      assert.throws(() => parse({ ...withDurations(0), window: { pane } }), /\/window\/pane: must be a duration/);
    }
  });
});

describe("the Kafka source's fetch size", () => {
  const kafkaSource = (fetch: Record<string, unknown>) => {
    const { source } = parse({
      source: { type: 'kafka', topic: 'readings', groupId: 'g', ...fetch },
      sink: { type: 'stdout' },
      rules: [{ id: 't', type: 'threshold', above: 1 }],
    });
    if (source.type !== 'kafka') throw new Error('not a kafka source');
    return source;
  };

  test('reaches the consumer: by default the broker holds a fetch for 64 KiB or 10 ms; given, for what is given', () => {
    const byDefault = consumerSettings(kafkaSource({}));
    assert.equal(byDefault.minBytes, 65_536);
    assert.equal(byDefault.maxWaitTimeInMs, 10);
    const given = consumerSettings(kafkaSource({ fetchMinBytes: 1, fetchMaxWait: '100ms' }));
    assert.equal(given.minBytes, 1);
    assert.equal(given.maxWaitTimeInMs, 100);
    // The rest of the consumer's settings are untouched.
    assert.equal(given.maxBytesPerPartition, byDefault.maxBytesPerPartition);
  });

  test('a size out of range stops the start, naming the field', () => {
    for (const fetchMinBytes of [0, 1.5, 8 << 20]) {
      assert.throws(() => kafkaSource({ fetchMinBytes }), /\/source\/fetchMinBytes/);
    }
    assert.throws(() => kafkaSource({ fetchMaxWait: 'soon' }), /\/source\/fetchMaxWait/);
  });

  test("records are decoded by Klaxon's decoder unless kafkajs's is chosen; anything else stops the start, naming the field", () => {
    assert.equal(kafkaSource({}).recordDecoder, 'klaxon');
    assert.equal(kafkaSource({ recordDecoder: 'kafkajs' }).recordDecoder, 'kafkajs');
    assert.throws(() => kafkaSource({ recordDecoder: 'librdkafka' }), /\/source\/recordDecoder/);
  });
});

describe('configSchema', () => {
  test('parses on its own (without load.ts): defaults, normalised names, rule modes filled in', () => {
    const config = configSchema.parse({
      mode: 'every',
      source: { type: 'stdin' },
      sink: { type: 'kafka', topic: 'alerts', brokers: 'a:1, b:2' },
      rules: [
        { id: 'z', type: 'zscore' },
        { id: 'r', type: 'rate_of_change', mode: 'edge', lag: '10s' },
      ],
    });
    assert.deepEqual(config.sink, {
      type: 'kafka',
      brokers: ['a:1', 'b:2'],
      topic: 'alerts',
      clientId: 'klaxon',
      partitions: 6,
      lingerMs: 0,
      transactionTimeoutMs: 30_000,
    });
    const v2Defaults = { severity: 'warning', forMs: 0, shadow: false, overrides: [] };
    assert.deepEqual(config.versions, [
      {
        version: 1,
        effectiveFrom: 0,
        rules: [
          { id: 'z', type: 'zscore', mode: 'every', k: 3, minSamples: 30, ...v2Defaults },
          { id: 'r', type: 'rate_of_change', mode: 'edge', lagMs: 10_000, pct: 10, direction: 'up', ...v2Defaults },
        ],
      },
    ]);
    assert.deepEqual(config.window, { size: 500, paneMs: 1_000, retain: 11 });
    assert.equal('$schema' in config, false);
  });
});

describe('sinks', () => {
  const rules = [{ id: 't', type: 'threshold', above: 1 }];
  const withSinks = (sinks: unknown[], extra: Record<string, unknown> = {}) => parse({ source: { type: 'stdin' }, sinks, rules, ...extra });
  const problems = (raw: Record<string, unknown>) => {
    try {
      parse({ source: { type: 'stdin' }, rules, ...raw });
    } catch (error) {
      return (error as { issues: string[] }).issues;
    }
    return assert.fail('the config was accepted');
  };

  test('a lone `sink` is a list of one: the record sink, no deliveries', () => {
    const config = parse({ source: { type: 'stdin' }, sink: { type: 'stdout' }, rules });
    assert.deepEqual(config.sink, { type: 'stdout', format: 'json' });
    assert.deepEqual(config.deliveries, []);
  });

  test('`sinks`: the one record sink (paths resolved) and the deliveries, named and with their defaults', () => {
    const config = parseConfig(
      {
        source: { type: 'stdin' },
        sinks: [
          { type: 'alertmanager', urls: 'http://am:9093' },
          { type: 'file', path: 'alerts.ndjson' },
          { type: 'webhook', name: 'ops', url: 'https://hooks.example/k', secret: 's', retry: { minDelay: '1s', maxDelay: '100ms', maxAttempts: 5 } },
        ],
        rules,
      },
      { baseDir: '/jobs', env: {} },
    );
    assert.deepEqual(config.sink, { type: 'file', path: '/jobs/alerts.ndjson' });
    const defaults = { queueSize: 10_000, overflow: 'drop-oldest', batchSize: 100, lingerMs: 50, timeoutMs: 10_000, drainTimeoutMs: 5_000, headers: {} };
    assert.deepEqual(config.deliveries, [
      {
        type: 'alertmanager',
        name: 'alertmanager',
        urls: ['http://am:9093'],
        labels: {},
        resendIntervalMs: 60_000,
        retry: { minDelayMs: 200, maxDelayMs: 30_000, maxAttempts: undefined },
        ...defaults,
      },
      {
        type: 'webhook',
        name: 'ops',
        url: 'https://hooks.example/k',
        secret: 's',
        // A longest wait below the first is raised to it.
        retry: { minDelayMs: 1_000, maxDelayMs: 1_000, maxAttempts: 5 },
        ...defaults,
      },
    ]);
  });

  test('exactly one record sink, and either `sink` or `sinks`', () => {
    assert.deepEqual(problems({}), ['/sink: required (or "sinks", a list)']);
    assert.deepEqual(problems({ sink: { type: 'stdout' }, sinks: [{ type: 'stdout' }] }), ['/sinks: give "sink" or "sinks", not both']);
    assert.deepEqual(problems({ sinks: [{ type: 'webhook', url: 'http://h' }] }), [
      '/sinks: needs one record sink (file, stdout or kafka): the system of record that deliveries are fed from',
    ]);
    assert.deepEqual(problems({ sinks: [{ type: 'stdout' }, { type: 'file', path: 'a' }] }), [
      '/sinks/1/type: a second record sink: "sinks" holds exactly one file, stdout or kafka sink (the system of record)',
    ]);
    assert.deepEqual(problems({ sinks: [] }), ['/sinks: must have at least 1 item']);
  });

  test('deliveries: distinct names, well-formed URLs and labels, and an Alertmanager takes every status', () => {
    assert.deepEqual(
      problems({
        sinks: [
          { type: 'stdout' },
          { type: 'webhook', url: 'http://a' },
          { type: 'webhook', url: 'http://b' },
          { type: 'alertmanager', name: 'am', urls: ['http://am:1', 'http://am:1/prefix'], labels: { zone_id: 'x' }, filter: { status: ['firing'] } },
        ],
      }),
      [
        '/sinks/2/name: two sinks are named "webhook": give each delivery its own "name"',
        '/sinks/3/filter/status: an alertmanager sink takes firing and resolved alerts alike (an alert whose resolve it never got would stay active)',
        '/sinks/3/labels/zone_id: "zone_id" is set from each alert',
        '/sinks/3/urls: two URLs at http://am:1: list each Alertmanager of the cluster once',
      ],
    );
    assert.deepEqual(
      problems({
        sinks: [
          { type: 'stdout' },
          { type: 'webhook', url: 'ftp://files', filter: { status: ['open'] } },
          { type: 'alertmanager', urls: 'am:9093', labels: { 'bad-name': 'x' }, overflow: 'wait' },
        ],
      }),
      [
        '/sinks/1/filter/status/0: must be one of "firing", "resolved"',
        '/sinks/1/url: must be an http:// or https:// URL',
        '/sinks/2/overflow: must be one of "drop-oldest", "block"',
        '/sinks/2/urls: must be an http:// or https:// URL',
        '/sinks/2/labels/bad-name: must be a label name: a letter or "_", then letters, digits or "_"',
      ],
    );
  });

  test('exactly-once with deliveries: the record sink is Kafka', () => {
    const kafka = { source: { type: 'kafka', topic: 'r', groupId: 'g' }, deadLetter: { type: 'kafka', topic: 'd' }, guarantee: 'exactly-once' };
    const config = withSinks(
      [
        { type: 'kafka', topic: 'alerts' },
        { type: 'alertmanager', urls: 'http://am:9093' },
      ],
      kafka,
    );
    assert.equal(config.sink.type, 'kafka');
    assert.equal(config.deliveries.length, 1);
  });
});

describe('state.cluster', () => {
  const withState = (state: Record<string, unknown>) => ({ ...withDurations(1), state: { type: 'redis', ...state } });
  const issuesOf = (raw: unknown): readonly string[] => {
    try {
      parse(raw);
    } catch (error) {
      return (error as { issues: string[] }).issues;
    }
    assert.fail('the config was accepted');
  };

  test('a list or one comma-separated string of nodes; without it, state.url (default: one local Redis)', () => {
    const nodes = ['127.0.0.1:17001', 'redis://127.0.0.1:17002'];
    assert.deepEqual(parse(withState({ cluster: nodes })).state, { type: 'redis', cluster: nodes, prefix: 'klaxon', snapshotIntervalMs: 5_000 });
    assert.deepEqual(parse(withState({ cluster: ' 127.0.0.1:17001, redis://127.0.0.1:17002 ' })).state, parse(withState({ cluster: nodes })).state);
    assert.deepEqual(parse(withState({})).state, { type: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'klaxon', snapshotIntervalMs: 5_000 });
  });

  test('state.url and state.cluster together, an empty cluster, or a brace in the prefix are refused, naming the field', () => {
    assert.deepEqual(issuesOf(withState({ url: 'redis://h:1', cluster: ['h:2'] })), [
      '/state/cluster: give state.url (one Redis) or state.cluster (a Redis Cluster), not both',
    ]);
    assert.deepEqual(issuesOf(withState({ cluster: ' , ' })), ['/state/cluster: names no node']);
    assert.deepEqual(issuesOf(withState({ cluster: [] })).length, 1);
    assert.match(issuesOf(withState({ cluster: ['h:2'], prefix: 'a{b}' })).join('\n'), /^\/state\/prefix: must not contain \{ or \} with state\.cluster/);
  });

  test('state.maxZonesInMemory: a whole number of zones, at least 1, named when refused; absent by default', () => {
    const { state } = parse(withState({ maxZonesInMemory: 100_000 }));
    assert.equal(state.type === 'redis' ? state.maxZonesInMemory : undefined, 100_000);
    assert.equal('maxZonesInMemory' in parse(withState({})).state, false);
    for (const bad of [0, 2.5, '10']) assert.match(issuesOf(withState({ maxZonesInMemory: bad })).join('\n'), /^\/state\/maxZonesInMemory: /);
  });
});
