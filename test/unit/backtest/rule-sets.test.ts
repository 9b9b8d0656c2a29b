import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareRuleSets, readRuleSetFile } from '../../../src/backtest/rule-sets.js';
import { ConfigError, UsageError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/run-engine.js';

const hot = { id: 'hot', type: 'threshold', above: 90 };
const avg = (span: string) => ({ id: 'avg', type: 'window_avg', span });

test('rule set files: the rules part of a config, a published version, or a bare list', async (t) => {
  const dir = await tempDir(t);
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    return readRuleSetFile(file);
  };
  const part = write('part.json', { window: { size: 100, pane: '1s' }, mode: 'every', rules: [hot] });
  const published = write('published.json', { version: 7, effectiveFrom: 1_760_000_000_000, appliedAt: '2025-10-09T08:00:00Z', rules: [hot] });
  const list = write('list.json', [hot]);
  assert.deepEqual(compareRuleSets(part, undefined, undefined).candidate[0]?.rules[0]?.mode, 'every');
  // A published version's rules are in force for the whole backtest: when it was in force in the deployment does not matter.
  assert.deepEqual(
    compareRuleSets(published, undefined, undefined).candidate.map((v) => [v.version, v.effectiveFrom]),
    [[1, 0]],
  );
  assert.equal(compareRuleSets(list, undefined, undefined).candidate[0]?.rules[0]?.id, 'hot');
  assert.throws(
    () => write('engine.json', { engine: { workers: 2 }, rules: [hot] }),
    (error) => error instanceof ConfigError && /engine\.json: \/engine: unknown key/.test(error.message),
  );
  assert.throws(() => write('text.json', 'hot'), UsageError);
});

test('one window for both: the retain both need when none is stated, a stated one checked, another window refused', async (t) => {
  const dir = await tempDir(t);
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    return readRuleSetFile(file);
  };
  const short = write('short.json', { window: { size: 100, pane: '1s' }, rules: [avg('1m')] });
  const long = write('long.json', { rules: [avg('5m')] });
  assert.deepEqual(compareRuleSets(short, long, undefined).window, { size: 100, paneMs: 1_000, retain: 300 });
  const stated = write('stated.json', { window: { size: 100, pane: '1s', retain: 120 }, rules: [avg('1m')] });
  assert.throws(
    () => compareRuleSets(stated, long, undefined),
    (error) => error instanceof ConfigError && /long\.json: \/rules\/0\/span: 5m needs 300 panes, window\.retain is 120/.test(error.message),
  );
  const other = write('other.json', { window: { size: 500, pane: '1s' }, rules: [hot] });
  assert.throws(
    () => compareRuleSets(short, other, undefined),
    (error) => error instanceof UsageError && /other\.json: its window \(size 500/.test(error.message),
  );
  // The deployment's window wins, and a file stating it is fine.
  const deployment = { window: { size: 100, paneMs: 1_000, retain: 600 }, mode: 'edge' as const };
  assert.deepEqual(compareRuleSets(short, long, deployment).window, deployment.window);
});
