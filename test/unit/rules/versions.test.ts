/**
 * Rule set versions as they travel (src/rules): checked against the window,
 * ordered, merged with the config's, published in the form a person writes,
 * and described for `klaxon rules apply`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEffectiveFrom } from '../../../src/cli/rules.js';
import type { RuleVersion } from '../../../src/config/types.js';
import { describeChange } from '../../../src/rules/diff.js';
import { cannotFollow, checkVersion, mergeVersions, publishedForm, sameVersion, versionAt } from '../../../src/rules/versions.js';
import { rulesConfig } from '../../helpers/rules.js';

const window = { size: 500, paneMs: 1_000, retain: 301 };
const check = (raw: unknown) => checkVersion(raw, { window, mode: 'edge' });
const hot = { id: 'hot', type: 'threshold', above: 90 };

function version(raw: unknown): RuleVersion {
  const checked = check(raw);
  if (!checked.ok) assert.fail(checked.issues.join('\n'));
  return checked.version;
}

describe('checkVersion', () => {
  test('parses like the config, filling in the mode', () => {
    const v = version({ version: 2, effectiveFrom: 5, rules: [hot] });
    assert.equal(v.rules[0]?.mode, 'edge');
    assert.equal(v.rules[0]?.severity, 'warning');
  });

  test('refuses what the config refuses, and what the state cannot serve, naming paths inside the version', () => {
    const bad = checkVersion(
      { version: 2, effectiveFrom: 5, rules: [{ id: 'avg', type: 'window_avg', span: '10m' }] },
      { window, mode: 'edge', retainLabel: 'the state retains 301' },
    );
    assert.deepEqual(bad, { ok: false, issues: ['/rules/0/span: 10m needs 600 panes, the state retains 301'] });
    const shape = check({ version: 2, effectiveFrom: 5, rules: [{ ...hot, severity: 'loud' }] });
    assert.equal(shape.ok, false);
    assert.match((shape as { issues: string[] }).issues.join(), /\/rules\/0\/severity/);
    assert.equal(check({ version: 2, effectiveFrom: 5, rules: [hot], extra: 1 }).ok, false);
  });
});

test('a published version reads back as the same version, whatever its durations were written as', () => {
  const v = version({
    version: 3,
    effectiveFrom: 1_000,
    rules: [{ id: 'avg', type: 'window_avg', span: '5m', for: '10s', overrides: [{ zones: ['a*'], span: '1m' }] }, hot],
  });
  const published = publishedForm(v, new Date(0));
  assert.equal(published.appliedAt, '1970-01-01T00:00:00.000Z');
  const again = version(JSON.parse(JSON.stringify(published)));
  assert.ok(sameVersion(v, again));
  assert.ok(!sameVersion(v, { ...again, rules: [hot] as RuleVersion['rules'] }));
});

test('versions follow one another in both version and effectiveFrom; the first starts at 0', () => {
  const one = version({ version: 1, effectiveFrom: 0, rules: [hot] });
  const two = version({ version: 2, effectiveFrom: 100, rules: [hot] });
  assert.equal(cannotFollow([], one), undefined);
  assert.match(cannotFollow([], two) ?? '', /first version must start at 0/);
  assert.equal(cannotFollow([one], two), undefined);
  assert.match(cannotFollow([one, two], { ...two, version: 2 }) ?? '', /not after the latest, 2/);
  assert.match(cannotFollow([one, two], { ...two, version: 3 }) ?? '', /effectiveFrom .* is not after the latest version's/);
  assert.equal(versionAt([one, two], 99), one);
  assert.equal(versionAt([one, two], 100), two);
});

test("the channel's versions supersede the config's from the channel's first on", () => {
  const config = rulesConfig({ versions: [1, 2, 3].map((n) => ({ version: n, effectiveFrom: (n - 1) * 100, rules: [hot] })) }).versions;
  const published = [version({ version: 3, effectiveFrom: 200, rules: [{ ...hot, above: 80 }] }), version({ version: 4, effectiveFrom: 300, rules: [hot] })];
  assert.deepEqual(
    mergeVersions(config, published).map((v) => v.version),
    [1, 2, 3, 4],
  );
  const third = mergeVersions(config, published)[2]?.rules[0];
  assert.equal(third?.type === 'threshold' ? third.above : undefined, 80, "the channel's version 3, not the config's");
  assert.deepEqual(mergeVersions(config, []), config);
});

test('describeChange: rules added, removed, changed, and the known zones a scope change reaches', () => {
  const from = version({ version: 1, effectiveFrom: 0, rules: [hot, { id: 'z', type: 'zscore', zones: ['oven-*'] }, { id: 'old', type: 'zscore' }] });
  const to = version({
    version: 2,
    effectiveFrom: 10,
    rules: [
      { ...hot, above: 86, severity: 'critical' },
      { id: 'z', type: 'zscore', k: 2 },
      { id: 'new', type: 'threshold', below: 5, shadow: true },
    ],
  });
  const zones = ['oven-1', 'freezer-1', 'freezer-2'];
  assert.deepEqual(describeChange(from, to, zones), [
    '~ hot: severity warning → critical; above 90 → 86',
    '~ z: k 3 → 2; zones ["oven-*"] → all',
    '    of 3 known zones: 2 newly in scope (freezer-1, freezer-2), 0 out',
    '+ new (threshold, warning, shadow): below 5, mode edge',
    '    of 3 known zones: 3 newly in scope (freezer-1, freezer-2, oven-1), 0 out',
    '- old (zscore): removed; zones where it is firing resolve it as removed',
    '    of 3 known zones: 0 newly in scope, 3 out (freezer-1, freezer-2, oven-1)',
  ]);
  assert.match(describeChange(from, to, undefined).join('\n'), /its zones changed \(which zones it reaches: known only from a redis state store\)/);
});

test('--effective-from: now, +duration, ISO or milliseconds', () => {
  assert.equal(parseEffectiveFrom('now', 1_000), 1_000);
  assert.equal(parseEffectiveFrom('+30s', 1_000), 31_000);
  assert.equal(parseEffectiveFrom('2025-10-09T09:03:20Z', 0), 1_760_000_600_000);
  assert.equal(parseEffectiveFrom('1760000600000', 0), 1_760_000_600_000);
  assert.throws(() => parseEffectiveFrom('tomorrow', 0), /expected now, \+DURATION/);
});
