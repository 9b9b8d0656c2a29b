/**
 * Snapshots made before live rules (format 2, real bytes from the engine of
 * that time: test/fixtures/legacy) convert into format 3 when the config's
 * version 1 is the rules they were made under: the restored zones go on
 * exactly as zones that never stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertLegacyImage, legacyLayout } from '../../../src/engine/legacy-image.js';
import { Shard } from '../../../src/engine/shard.js';
import { imageHeader, SNAPSHOT_FORMAT } from '../../../src/engine/zone-image.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { readLegacySnapshot } from '../../helpers/legacy.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';
import { randomStream } from '../../helpers/streams.js';

const legacy = readLegacySnapshot();
const rules = legacy.rules as { window: Record<string, unknown>; rules: Array<Record<string, unknown>> };

test("the old engine's fingerprint is recognised for the same rules as version 1, however their modes were written", () => {
  assert.ok(legacyLayout(rulesConfig(rules)).fingerprints.has(legacy.fingerprint));
  // The same rules with v2 options (severity, a scope) still are the rules the snapshot's flags belong to.
  const withOptions = { ...rules, rules: rules.rules.map((rule) => ({ ...rule, severity: 'critical', zones: ['*'] })) };
  assert.ok(legacyLayout(rulesConfig(withOptions)).fingerprints.has(legacy.fingerprint));
  // Another threshold, another window, or another mode: not the snapshot's rules.
  const other = { ...rules, rules: rules.rules.map((rule) => (rule.id === 'hot' ? { ...rule, above: 26 } : rule)) };
  assert.ok(!legacyLayout(rulesConfig(other)).fingerprints.has(legacy.fingerprint));
  assert.ok(!legacyLayout(rulesConfig({ ...rules, window: { ...rules.window, size: 41 } })).fingerprints.has(legacy.fingerprint));
  assert.ok(!legacyLayout(rulesConfig({ ...rules, mode: 'every' })).fingerprints.has(legacy.fingerprint));
});

test('converted images restore zones that go on exactly as zones that never stopped', () => {
  const config = rulesConfig(rules);
  const layout = legacyLayout(config);
  const lines = randomStream(legacy.stream);
  const uninterrupted = new Shard(shardSetup(config)).process(linesTask(lines)).alerts.filter((alert) => alert.record >= legacy.cut);
  const zoneIds = Object.keys(legacy.zones);
  const images = zoneIds.map((id) => convertLegacyImage(id, Buffer.from(legacy.zones[id] as string, 'base64'), layout));
  for (const [i, image] of images.entries()) assert.equal(imageHeader(zoneIds[i] as string, image)[0], SNAPSHOT_FORMAT);
  const restored = new Shard(shardSetup(config));
  restored.restore(zoneIds, images);
  for (const [id, flags] of Object.entries(legacy.firing)) {
    const firing = rules.rules.filter((_, i) => flags[i] === 1).map((rule) => rule.id);
    assert.deepEqual(restored.zoneHistory(id, 1)?.firing, firing, `zone ${id}'s firing rules`);
  }
  const resumed = restored.process(linesTask(lines.slice(legacy.cut))).alerts;
  assert.ok(resumed.length > 20);
  assert.deepEqual(
    resumed.map((alert) => alert.text),
    uninterrupted.map((alert) => alert.text),
  );
});

test('an image of another layout is refused, not misread', () => {
  const layout = { ...legacyLayout(rulesConfig(rules)), ringPanes: 30 };
  const [id, image] = Object.entries(legacy.zones)[0] as [string, string];
  assert.throws(() => convertLegacyImage(id, Buffer.from(image, 'base64'), layout), /is not a format-2 image of this config's version 1/);
});
