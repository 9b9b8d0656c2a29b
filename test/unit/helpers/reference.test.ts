/**
 * The reference model is the oracle for generated streams, so it must first
 * reproduce the contract's own samples, by itself: sample-v2 (versions,
 * scopes, overrides, severities, for, hysteresis, shadow, removals) and the
 * v1 samples a and b (sample-c's long zones make the naive model slow).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { assertSameAlerts } from '../../helpers/compare.js';
import { globMatches, referenceAlerts } from '../../helpers/reference.js';
import { readSample } from '../../helpers/samples.js';

describe('the reference model reproduces the samples', () => {
  for (const name of ['sample-v2', 'sample-a', 'sample-b'] as const) {
    test(name, async () => {
      const sample = await readSample(name);
      const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...sample.rules }, { baseDir: '/' });
      const out = referenceAlerts(sample.lines, config);
      assertSameAlerts(out.alerts, sample.alerts, `reference on ${name}`);
      assert.deepEqual(out.deadLines, sample.deadLines);
    });
  }
});

test('reference globs: * any run, ? one code point, the rest literal, whole ids only', () => {
  assert.ok(globMatches('freezer-*', 'freezer-12'));
  assert.ok(globMatches('freezer-*', 'freezer-'));
  assert.ok(!globMatches('freezer-*', 'a-freezer-1'));
  assert.ok(globMatches('line-?', 'line-7'));
  assert.ok(!globMatches('line-?', 'line-17'));
  assert.ok(globMatches('z?', 'z😀'), 'an astral character is one character');
  assert.ok(globMatches('a.b[1]', 'a.b[1]') && !globMatches('a.b', 'axb'), 'everything else is literal');
  assert.ok(globMatches('*', ''));
});
