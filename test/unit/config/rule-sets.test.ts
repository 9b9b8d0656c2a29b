/**
 * Contract v2's config (§7.1–§7.5): versions, scopes, overrides and the new
 * options parse and normalise; every invalid rule set is refused with exit
 * code 2, naming its JSON path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const io = { source: { type: 'stdin' }, sink: { type: 'stdout' } };
const parse = (raw: Record<string, unknown>) => parseConfig({ ...io, ...raw }, { baseDir: '/', env: {} });

/** The issues of an invalid config (and that it is a ConfigError, exit 2). */
function issues(raw: Record<string, unknown>): string[] {
  try {
    parse(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.exitCode, 2);
    return [...error.issues];
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be refused`);
}

function assertIssue(raw: Record<string, unknown>, path: string, message?: RegExp): void {
  const found = issues(raw);
  const at = found.filter((issue) => issue.startsWith(`${path}: `));
  assert.ok(at.length > 0, `expected an issue at ${path}, got ${JSON.stringify(found)}`);
  if (message !== undefined)
    assert.ok(
      at.some((issue) => message.test(issue)),
      `expected ${message} at ${path}, got ${JSON.stringify(at)}`,
    );
}

const hot = { id: 'hot', type: 'threshold', above: 90 };
const version = (n: number, from: number, rules: unknown[] = [hot]) => ({ version: n, effectiveFrom: from, rules });

describe('versions', () => {
  test('rules are version 1 from 0; versions are kept as given, the top-level mode filled in', () => {
    const config = parse({ mode: 'every', versions: [version(1, 0), version(3, 1_000, [{ ...hot, mode: 'edge' }])] });
    assert.deepEqual(
      config.versions.map((v) => [v.version, v.effectiveFrom, v.rules[0]?.mode]),
      [
        [1, 0, 'every'],
        [3, 1_000, 'edge'],
      ],
    );
    assert.equal('rules' in config, false, 'one source of truth: versions');
  });

  test('both rules and versions, or neither, are refused', () => {
    assertIssue({ rules: [hot], versions: [version(1, 0)] }, '/versions', /either rules or versions/);
    assertIssue({}, '/rules', /required/);
  });

  test('versions must increase in both version and effectiveFrom, the first at 0', () => {
    assertIssue({ versions: [version(1, 5)] }, '/versions/0/effectiveFrom', /first version must start at 0/);
    assertIssue({ versions: [version(2, 0), version(2, 10)] }, '/versions/1/version', /greater than the version before it \(2\)/);
    assertIssue({ versions: [version(1, 0), version(2, 10), version(3, 10)] }, '/versions/2/effectiveFrom', /later than/);
    assertIssue({ versions: [version(0, 0)] }, '/versions/0/version');
    assertIssue({ versions: [] }, '/versions');
  });

  test('rule ids are unique within a version, not across versions', () => {
    assertIssue(
      { versions: [version(1, 0, [hot, { ...hot, above: 80 }])] },
      '/versions/0/rules/1/id',
      /duplicate rule id "hot" \(first at \/versions\/0\/rules\/0\)/,
    );
    parse({ versions: [version(1, 0), version(2, 10, [{ id: 'hot', type: 'zscore' }])] });
  });
});

describe('window.retain', () => {
  test('defaults to what the first version needs, overrides included; later versions must fit it', () => {
    const first = [{ id: 'roc', type: 'rate_of_change', lag: '5m', overrides: [{ zones: ['a*'], lag: '6m' }] }];
    assert.equal(parse({ versions: [version(1, 0, first)] }).window.retain, 361);
    assertIssue(
      { versions: [version(1, 0, first), version(2, 10, [{ id: 'avg', type: 'window_avg', span: '10m' }])] },
      '/versions/1/rules/0/span',
      /10m needs 600 panes, window\.retain is 361 \(by default, what the first version needs\)/,
    );
    assert.equal(
      parse({ window: { retain: 600 }, versions: [version(1, 0, first), version(2, 10, [{ id: 'avg', type: 'window_avg', span: '10m' }])] }).window.retain,
      600,
    );
  });

  test('an explicit retain too small for the first version is refused', () => {
    assertIssue(
      { window: { retain: 100 }, rules: [{ id: 'roc', type: 'rate_of_change', lag: '5m' }] },
      '/rules/0/lag',
      /needs 301 panes, window\.retain is 100/,
    );
    assertIssue({ window: { retain: -1 }, rules: [hot] }, '/window/retain');
  });
});

describe('rule options', () => {
  test('severity, for, shadow, clear levels and scopes normalise', () => {
    const [rule] =
      parse({
        rules: [{ ...hot, severity: 'critical', for: '30s', shadow: true, clearAbove: 85, zones: ['freezer-*'], exceptZones: ['freezer-9'] }],
      }).versions[0]?.rules ?? [];
    assert.deepEqual(rule, {
      id: 'hot',
      type: 'threshold',
      mode: 'edge',
      above: 90,
      clearAbove: 85,
      severity: 'critical',
      forMs: 30_000,
      shadow: true,
      zones: ['freezer-*'],
      exceptZones: ['freezer-9'],
      overrides: [],
    });
  });

  test('an unknown severity, a negative for, a bad glob', () => {
    assertIssue({ rules: [{ ...hot, severity: 'page' }] }, '/rules/0/severity', /"info", "warning", "critical"/);
    assertIssue({ rules: [{ ...hot, for: -1 }] }, '/rules/0/for', /duration/);
    assertIssue({ rules: [{ ...hot, for: '-1s' }] }, '/rules/0/for', /duration/);
    assertIssue({ rules: [{ ...hot, zones: [''] }] }, '/rules/0/zones/0', /must not be empty/);
    assertIssue({ rules: [{ ...hot, zones: 'freezer-*' }] }, '/rules/0/zones', /must be array/);
    assertIssue({ rules: [{ ...hot, exceptZones: [7] }] }, '/rules/0/exceptZones/0', /must be string/);
  });

  test('clear levels: threshold only, on the right side of their bound, with their bound', () => {
    assertIssue({ rules: [{ ...hot, clearAbove: 95 }] }, '/rules/0/clearAbove', /at most "above" \(90\)/);
    assertIssue({ rules: [{ id: 'cold', type: 'threshold', below: 10, clearBelow: 5 }] }, '/rules/0/clearBelow', /at least "below" \(10\)/);
    assertIssue({ rules: [{ id: 'cold', type: 'threshold', below: 10, clearAbove: 5 }] }, '/rules/0/clearAbove', /needs "above"/);
    assertIssue({ rules: [{ id: 'z', type: 'zscore', clearAbove: 5 }] }, '/rules/0/clearAbove', /unknown key/);
    parse({ rules: [{ ...hot, clearAbove: 90, below: 10, clearBelow: 10 }] });
  });

  test('for and clear levels are edge-mode options (the top-level mode counts)', () => {
    assertIssue({ rules: [{ ...hot, mode: 'every', for: '1s' }] }, '/rules/0/for', /edge-mode option/);
    assertIssue({ rules: [{ ...hot, mode: 'every', for: 0 }] }, '/rules/0/for', /edge-mode option/);
    assertIssue({ mode: 'every', rules: [{ ...hot, clearAbove: 80 }] }, '/rules/0/clearAbove', /edge-mode option/);
    assertIssue({ mode: 'every', rules: [{ ...hot, overrides: [{ zones: ['a'], for: '2s' }] }] }, '/rules/0/overrides/0/for', /edge-mode option/);
    parse({ mode: 'every', rules: [{ ...hot, mode: 'edge', for: '1s', clearAbove: 80 }] });
  });

  test('shadows names the live rule of the same version that a shadow rule would replace', () => {
    const preview = { id: 'hot-preview', type: 'threshold', above: 85, shadow: true, shadows: 'hot' };
    const config = parse({ versions: [version(1, 0, [hot, preview])] });
    assert.equal(config.versions[0]?.rules[1]?.shadows, 'hot');
    assertIssue({ rules: [hot, { ...preview, shadow: false }] }, '/rules/1/shadows', /is for a shadow rule/);
    assertIssue({ rules: [hot, { ...preview, shadows: 'hot-preview' }] }, '/rules/1/shadows', /cannot shadow itself/);
    assertIssue({ rules: [hot, { ...preview, shadows: 'cold' }] }, '/rules/1/shadows', /names no rule of this version \(its rules: hot, hot-preview\)/);
    assertIssue({ rules: [{ ...hot, shadow: true }, preview] }, '/rules/1/shadows', /"hot" is a shadow rule too/);
    // Of the same version: a rule of an earlier version does not count.
    assertIssue(
      { versions: [version(1, 0, [hot]), version(2, 1_000, [{ ...preview, id: 'p2' }])] },
      '/versions/1/rules/0/shadows',
      /names no rule of this version/,
    );
    assertIssue({ rules: [{ ...hot, overrides: [{ zones: ['a'], shadows: 'x' }] }] }, '/rules/0/overrides/0/shadows', /cannot be overridden/);
  });

  test('spans and lags: whole panes, overrides included', () => {
    assertIssue(
      { rules: [{ id: 'avg', type: 'window_avg', span: '1m', overrides: [{ zones: ['a'], span: '1500ms' }] }] },
      '/rules/0/overrides/0/span',
      /not a whole number of panes/,
    );
  });
});

describe('overrides', () => {
  test('replace only what they set, in order; keep their own zones', () => {
    const [rule] =
      parse({
        rules: [
          {
            ...hot,
            overrides: [
              { zones: ['freezer-*'], above: 70, severity: 'critical', for: '3s' },
              { zones: ['oven-*'], below: 5 },
            ],
          },
        ],
      }).versions[0]?.rules ?? [];
    assert.deepEqual(rule?.overrides, [
      { zones: ['freezer-*'], above: 70, severity: 'critical', forMs: 3_000 },
      { zones: ['oven-*'], below: 5 },
    ]);
  });

  test('anything not overridable is refused, naming what an override may set', () => {
    assertIssue(
      { rules: [{ ...hot, overrides: [{ zones: ['a'], k: 2 }] }] },
      '/rules/0/overrides/0/k',
      /cannot be overridden \(a threshold override may set severity, for, above, below, clearAbove, clearBelow\)/,
    );
    assertIssue({ rules: [{ ...hot, overrides: [{ zones: ['a'], mode: 'every' }] }] }, '/rules/0/overrides/0/mode', /cannot be overridden/);
    assertIssue({ rules: [{ ...hot, overrides: [{ zones: ['a'], shadow: true }] }] }, '/rules/0/overrides/0/shadow', /cannot be overridden/);
    assertIssue(
      { rules: [{ id: 'z', type: 'zscore', overrides: [{ zones: ['a'], above: 1 }] }] },
      '/rules/0/overrides/0/above',
      /a zscore override may set severity, for, k, minSamples/,
    );
    assertIssue({ rules: [{ ...hot, overrides: [{ above: 1 }] }] }, '/rules/0/overrides/0/zones', /required/);
  });

  test('each override is checked merged onto its rule', () => {
    // The rule's clearAbove 85 is above the override's above 80: the merge is invalid, and the override is named.
    assertIssue({ rules: [{ ...hot, clearAbove: 85, overrides: [{ zones: ['a'], above: 80 }] }] }, '/rules/0/overrides/0', /at most "above" \(80\)/);
    assertIssue({ rules: [{ ...hot, overrides: [{ zones: ['a'], clearAbove: 95 }] }] }, '/rules/0/overrides/0/clearAbove', /at most "above" \(90\)/);
    const avg = { id: 'avg', type: 'window_avg', span: '1m' };
    assertIssue(
      { versions: [version(1, 0, [avg]), version(2, 10, [{ ...avg, overrides: [{ zones: ['a'], span: '2m' }] }])] },
      '/versions/1/rules/0/overrides/0/span',
      /needs 120 panes, window\.retain is 60/,
    );
  });
});

describe('rulesFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-rules-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('holds the rule set instead of the config; its problems are named in it', () => {
    writeFileSync(join(dir, 'rules.json'), JSON.stringify({ versions: [version(1, 0), version(2, 500, [{ ...hot, above: 80 }])] }));
    const config = parseConfig({ ...io, rulesFile: 'rules.json' }, { baseDir: dir, env: {} });
    assert.equal(config.rulesFile, join(dir, 'rules.json'));
    assert.deepEqual(
      config.versions.map((v) => v.version),
      [1, 2],
    );
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ rules: [{ ...hot, severity: 'loud' }] }));
    assert.throws(() => parseConfig({ ...io, rulesFile: 'bad.json' }, { baseDir: dir, env: {} }), new RegExp(`${join(dir, 'bad.json')}: /rules/0/severity`));
    writeFileSync(join(dir, 'extra.json'), JSON.stringify({ rules: [hot], window: {} }));
    assert.throws(() => parseConfig({ ...io, rulesFile: 'extra.json' }, { baseDir: dir, env: {} }), /\/window: unknown key/);
  });

  test('not with rules in the config, nor for a kafka job', () => {
    assert.throws(() => parseConfig({ ...io, rules: [hot], rulesFile: 'rules.json' }, { baseDir: dir, env: {} }), /\/rulesFile: give the rule set/);
    assert.throws(
      () => parseConfig({ ...io, source: { type: 'kafka', topic: 't', groupId: 'g' }, rulesFile: 'rules.json' }, { baseDir: dir, env: {} }),
      /\/rulesFile: a kafka job's versions come from its rules topic/,
    );
  });
});

test('a kafka source names its rules topic, by default after the readings topic', () => {
  const source = (extra: Record<string, unknown>) => parse({ source: { type: 'kafka', topic: 'readings', groupId: 'g', ...extra }, rules: [hot] }).source;
  assert.equal((source({}) as { rulesTopic: string }).rulesTopic, 'readings.rules');
  assert.equal((source({ rulesTopic: 'plant-7.rules' }) as { rulesTopic: string }).rulesTopic, 'plant-7.rules');
});
