// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config strings under test hold ${VAR} placeholders on purpose.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const BASE = resolve(tmpdir(), 'klaxon-base');

function minimal(): Record<string, unknown> {
  return {
    source: { type: 'stdin' },
    sink: { type: 'stdout' },
    rules: [{ id: 'hot', type: 'threshold', above: 90 }],
  };
}

/** The ConfigError thrown for `raw`; fails the test when nothing (or something else) is thrown. */
function configError(raw: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(raw, { baseDir: BASE, env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.ok(error.issues.length > 0);
    return error;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(raw)}`);
}

function hasIssue(error: ConfigError, path: string): boolean {
  return error.issues.some((issue) => issue === path || issue.startsWith(`${path}:`));
}

function assertIssue(raw: unknown, path: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  const error = configError(raw, env);
  assert.ok(hasIssue(error, path), `expected an issue at ${path}, got ${JSON.stringify(error.issues)}`);
  return error;
}

describe('parseConfig defaults', () => {
  test('a minimal valid config gets every default', () => {
    const raw = minimal();
    raw.rules = [
      { id: 'hot', type: 'threshold', above: 90 },
      { id: 'z', type: 'zscore' },
      { id: 'avg', type: 'window_avg' },
      { id: 'roc', type: 'rate_of_change' },
    ];
    const config = parseConfig(raw, { baseDir: BASE, env: {} });
    // R: the 5-minute lag of the first version needs 301 one-second panes.
    assert.deepEqual(config.window, { size: 500, paneMs: 1_000, retain: 301 });
    assert.equal(config.mode, 'edge');
    assert.equal(config.versions.length, 1, 'rules are version 1');
    const [version] = config.versions;
    assert.equal(version?.version, 1);
    assert.equal(version?.effectiveFrom, 0);
    const v2Defaults = { severity: 'warning', forMs: 0, shadow: false, overrides: [] };
    assert.deepEqual(version?.rules[0], { id: 'hot', type: 'threshold', mode: 'edge', above: 90, ...v2Defaults });
    assert.deepEqual(version?.rules[1], { id: 'z', type: 'zscore', mode: 'edge', k: 3, minSamples: 30, ...v2Defaults });
    assert.deepEqual(version?.rules[2], { id: 'avg', type: 'window_avg', mode: 'edge', spanMs: 300_000, abovePct: 0, minSamples: 1, ...v2Defaults });
    assert.deepEqual(version?.rules[3], { id: 'roc', type: 'rate_of_change', mode: 'edge', lagMs: 300_000, pct: 10, direction: 'up', ...v2Defaults });
    assert.deepEqual(config.state, { type: 'memory' });
    assert.deepEqual(config.source, { type: 'stdin' });
    assert.deepEqual(config.sink, { type: 'stdout', format: 'json' });
    assert.deepEqual(config.deadLetter, {
      type: 'file',
      path: join(BASE, 'dead-letters.ndjson'),
    });
    assert.equal(config.engine.batchSize, 4_000);
    assert.equal(config.engine.virtualNodes, 128);
    assert.ok(config.engine.workers >= 1);
    assert.equal(config.file, undefined);
  });

  test('given values override defaults; the global mode applies to rules without their own', () => {
    const raw = {
      ...minimal(),
      engine: { workers: 3 },
      window: { size: 50, pane: '10s' },
      mode: 'every',
      rules: [
        { id: 'a', type: 'threshold', below: -5 },
        { id: 'b', type: 'window_avg', span: '1m', mode: 'edge' },
      ],
    };
    const config = parseConfig(raw, { baseDir: BASE, env: {} });
    assert.equal(config.engine.workers, 3);
    assert.equal(config.engine.batchSize, 4_000);
    assert.deepEqual(config.window, { size: 50, paneMs: 10_000, retain: 6 });
    const rules = config.versions[0]?.rules ?? [];
    assert.deepEqual(rules[0], { id: 'a', type: 'threshold', mode: 'every', below: -5, severity: 'warning', forMs: 0, shadow: false, overrides: [] });
    assert.equal(rules[1]?.mode, 'edge');
    assert.equal((rules[1] as { spanMs: number }).spanMs, 60_000);
  });

  test('relative file paths resolve against baseDir; absolute paths stay', () => {
    const raw = {
      ...minimal(),
      source: { type: 'file', path: 'data/in.ndjson' },
      sink: { type: 'file', path: '../out/alerts.ndjson' },
      deadLetter: { type: 'file', path: '/var/klaxon/dead.ndjson' },
    };
    const config = parseConfig(raw, { baseDir: BASE, env: {} });
    assert.deepEqual(config.source, {
      type: 'file',
      path: join(BASE, 'data', 'in.ndjson'),
    });
    assert.deepEqual(config.sink, {
      type: 'file',
      path: resolve(BASE, '..', 'out', 'alerts.ndjson'),
    });
    assert.deepEqual(config.deadLetter, {
      type: 'file',
      path: '/var/klaxon/dead.ndjson',
    });
  });
});

describe('parseConfig errors', () => {
  test('unknown key names its path', () => {
    assertIssue({ ...minimal(), engine: { wrokers: 4 } }, '/engine/wrokers');
    assertIssue({ ...minimal(), colour: 'red' }, '/colour');
  });

  test('wrong type', () => {
    assertIssue({ ...minimal(), window: { size: '500' } }, '/window/size');
    assertIssue({ ...minimal(), engine: { workers: 1.5 } }, '/engine/workers');
    assertIssue({ ...minimal(), rules: 'hot' }, '/rules');
  });

  test('unknown source type', () => {
    const error = assertIssue({ ...minimal(), source: { type: 'ftp' } }, '/source/type');
    assert.match(error.issues.join('\n'), /unknown type/);
  });

  test('missing required sections', () => {
    assertIssue({ source: { type: 'stdin' }, sink: { type: 'stdout' } }, '/rules');
    assertIssue({ sink: { type: 'stdout' }, rules: minimal().rules }, '/source');
  });

  test('a span or lag that is not a whole number of panes names the rule', () => {
    const rules = [
      { id: 'ok', type: 'threshold', above: 1 },
      { id: 'avg', type: 'window_avg', span: '1500ms' },
    ];
    assertIssue({ ...minimal(), rules }, '/rules/1/span');
    assertIssue(
      {
        ...minimal(),
        window: { pane: '10s' },
        rules: [{ id: 'r', type: 'rate_of_change', lag: '15s' }],
      },
      '/rules/0/lag',
    );
    // A whole number of panes is fine.
    parseConfig(
      {
        ...minimal(),
        window: { pane: '1.5s' },
        rules: [{ id: 'avg', type: 'window_avg', span: '3s' }],
      },
      { baseDir: BASE, env: {} },
    );
  });

  test('a bad duration string', () => {
    assertIssue({ ...minimal(), window: { pane: '1.5ms' } }, '/window/pane');
    assertIssue({ ...minimal(), window: { pane: 0 } }, '/window/pane');
  });

  test('duplicate rule ids name the later rule', () => {
    const rules = [
      { id: 'a', type: 'threshold', above: 1 },
      { id: 'b', type: 'zscore' },
      { id: 'a', type: 'zscore' },
    ];
    const error = assertIssue({ ...minimal(), rules }, '/rules/2/id');
    assert.ok(!hasIssue(error, '/rules/0/id'), JSON.stringify(error.issues));
  });

  test('a threshold rule without above or below', () => {
    assertIssue({ ...minimal(), rules: [{ id: 'a', type: 'threshold' }] }, '/rules/0');
  });

  test('several problems are all reported at once', () => {
    const raw = {
      ...minimal(),
      engine: { wrokers: 4 },
      window: { size: '500' },
    };
    const error = configError(raw);
    assert.ok(hasIssue(error, '/engine/wrokers') && hasIssue(error, '/window/size'), JSON.stringify(error.issues));
  });
});

describe('parseConfig environment expansion', () => {
  test('${VAR} and ${VAR:-fallback} expand inside strings', () => {
    const raw = {
      ...minimal(),
      source: { type: 'file', path: '${DATA}/in-${RUN}.ndjson' },
      sink: {
        type: 'kafka',
        topic: '${TOPIC:-alerts}',
        brokers: '${BROKERS:-localhost:9092}',
      },
    };
    const config = parseConfig(raw, {
      baseDir: BASE,
      env: { DATA: '/data', RUN: '7', BROKERS: 'a:1, b:2' },
    });
    assert.deepEqual(config.source, {
      type: 'file',
      path: '/data/in-7.ndjson',
    });
    assert.equal(config.sink.type, 'kafka');
    if (config.sink.type === 'kafka') {
      assert.equal(config.sink.topic, 'alerts');
      assert.deepEqual(config.sink.brokers, ['a:1', 'b:2']);
    }
  });

  test('the redis state url expands too (with a kafka source, which redis state needs)', () => {
    const raw = {
      ...minimal(),
      source: { type: 'kafka', topic: 'readings', groupId: 'g' },
      state: {
        type: 'redis',
        url: 'redis://${REDIS_HOST:-127.0.0.1}:${REDIS_PORT}',
      },
    };
    const config = parseConfig(raw, { baseDir: BASE, env: { REDIS_PORT: '6380' } });
    assert.equal(config.state.type, 'redis');
    if (config.state.type === 'redis' && 'url' in config.state) assert.equal(config.state.url, 'redis://127.0.0.1:6380');
    assert.throws(
      () => parseConfig({ ...raw, source: { type: 'file', path: 'x' } }, { baseDir: BASE, env: { REDIS_PORT: '6380' } }),
      (error: ConfigError) => error.issues.some((issue) => issue.startsWith('/state/type:')),
    );
  });

  test('an empty variable takes the fallback', () => {
    const raw = {
      ...minimal(),
      sink: { type: 'kafka', topic: '${TOPIC:-alerts}' },
    };
    const config = parseConfig(raw, { baseDir: BASE, env: { TOPIC: '' } });
    assert.equal(config.sink.type === 'kafka' ? config.sink.topic : undefined, 'alerts');
  });

  test('a missing variable without fallback is an issue naming where it was used', () => {
    const raw = {
      ...minimal(),
      source: { type: 'file', path: '${NOT_SET_ANYWHERE}/in.ndjson' },
    };
    const error = assertIssue(raw, '/source/path');
    assert.match(error.issues.join('\n'), /NOT_SET_ANYWHERE/);
  });
});

describe('loadConfigFile', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'klaxon-config-'));
    mkdirSync(join(dir, 'conf'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("relative paths resolve against the config file's folder, and file is recorded", () => {
    const file = join(dir, 'conf', 'cluster.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...minimal(),
        source: { type: 'file', path: 'readings.ndjson' },
      }),
    );
    const config = loadConfigFile(file, {});
    assert.deepEqual(config.source, {
      type: 'file',
      path: join(dir, 'conf', 'readings.ndjson'),
    });
    assert.deepEqual(config.deadLetter, {
      type: 'file',
      path: join(dir, 'conf', 'dead-letters.ndjson'),
    });
    assert.equal(config.file, file);
  });

  test('passes env through to expansion', () => {
    const file = join(dir, 'env.json');
    writeFileSync(file, JSON.stringify({ ...minimal(), source: { type: 'file', path: '${IN}' } }));
    assert.deepEqual(loadConfigFile(file, { IN: 'x.ndjson' }).source, {
      type: 'file',
      path: join(dir, 'x.ndjson'),
    });
  });

  test('invalid JSON is a ConfigError', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"source": {"type": "stdin"},');
    assert.throws(
      () => loadConfigFile(file, {}),
      (error: unknown) => error instanceof ConfigError && error.exitCode === 2 && /not valid JSON/.test(error.issues.join()),
    );
  });

  test('a missing file is a ConfigError', () => {
    assert.throws(
      () => loadConfigFile(join(dir, 'nope.json'), {}),
      (error: unknown) => error instanceof ConfigError && error.exitCode === 2 && /ENOENT/.test(error.issues.join()),
    );
  });

  test('validation problems in a file are ConfigErrors too', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...minimal(), engine: { wrokers: 4 } }));
    assert.throws(
      () => loadConfigFile(file, {}),
      (error: unknown) => error instanceof ConfigError && error.issues.some((i) => i.startsWith('/engine/wrokers')),
    );
  });
});

describe('parseConfig unknown keys', () => {
  test('a typo suggests the closest valid key', () => {
    const error = configError({ ...minimal(), engine: { wrokers: 4 } });
    assert.deepEqual(error.issues, ['/engine/wrokers: unknown key (did you mean "workers"?)']);
    assert.ok(configError({ ...minimal(), http: { dashbord: true } }).issues.includes('/http/dashbord: unknown key (did you mean "dashboard"?)'));
    assert.ok(
      configError({ ...minimal(), rules: [{ id: 'z', type: 'zscore', minSample: 3 }] }).issues.includes(
        '/rules/0/minSample: unknown key (did you mean "minSamples"?)',
      ),
    );
    assert.ok(
      configError({ ...minimal(), source: { type: 'kafka', topic: 't', groupId: 'g', comitInterval: '1s' } }).issues.includes(
        '/source/comitInterval: unknown key (did you mean "commitInterval"?)',
      ),
    );
  });

  test('a key far from every valid one gets no suggestion', () => {
    assert.deepEqual(configError({ ...minimal(), colour: 'red' }).issues, ['/colour: unknown key']);
  });

  test('several unknown keys in one object are one issue each', () => {
    const error = configError({ ...minimal(), engine: { wrokers: 4, colour: 'red', batchsize: 10 } });
    assert.deepEqual(error.issues, [
      '/engine/wrokers: unknown key (did you mean "workers"?)',
      '/engine/colour: unknown key',
      '/engine/batchsize: unknown key (did you mean "batchSize"?)',
    ]);
  });
});

describe('parseConfig messages', () => {
  test('name the path and say what is wrong, as before', () => {
    const messages = (raw: unknown) => configError(raw).issues;
    assert.deepEqual(messages({ ...minimal(), source: { type: 'ftp' } }), ['/source/type: unknown type (expected one of file, stdin, generator, kafka)']);
    assert.deepEqual(messages({ ...minimal(), window: { pane: 'soon' } }), [
      '/window/pane: must be a duration: whole milliseconds (at least 1), or a string such as "500ms", "10s", "5m", "1h"',
    ]);
    assert.deepEqual(messages({ ...minimal(), window: { pane: '1.5ms' } }), ['/window/pane: "1.5ms" is not a whole number of milliseconds']);
    assert.deepEqual(messages({ ...minimal(), engine: { workers: 1.5 } }), ['/engine/workers: must be integer']);
    assert.deepEqual(messages({ ...minimal(), engine: { workers: 0 } }), ['/engine/workers: must be >= 1']);
    assert.deepEqual(messages({ ...minimal(), mode: 'often' }), ['/mode: must be one of "edge", "every"']);
    assert.deepEqual(messages({ source: { type: 'stdin' }, rules: minimal().rules }), ['/sink: required (or "sinks", a list)']);
    assert.deepEqual(
      messages({
        ...minimal(),
        rules: [
          { id: 'a', type: 'threshold', above: 1 },
          { id: 'a', type: 'threshold' },
        ],
      }),
      ['/rules/1/id: duplicate rule id "a" (first at /rules/0)', '/rules/1: a threshold rule needs "above", "below" or both'],
    );
  });

  test('exactly-once needs Kafka in and out', () => {
    const error = configError({ ...minimal(), guarantee: 'exactly-once' });
    assert.deepEqual(error.issues, [
      '/source/type: exactly-once needs Kafka in and out (transactions commit alerts with offsets)',
      '/sink/type: exactly-once needs Kafka in and out (transactions commit alerts with offsets)',
      '/deadLetter/type: exactly-once needs Kafka in and out (transactions commit alerts with offsets)',
    ]);
  });
});
