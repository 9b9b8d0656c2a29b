import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';

const parse = (raw: unknown) => parseConfig(raw, { baseDir: '/', env: {} });

/** Each duration key of withDurations, as milliseconds and as a string. */
const DURATIONS = {
  commitInterval: [2_000, '2s'],
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
    source: { type: 'kafka', topic: 'readings', groupId: 'g', commitInterval: d('commitInterval') },
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
      lingerMs: 5,
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
