/**
 * Shadow rules through Kafka, as the README's "Trying a rule change" ships
 * one: a shadow rule's alerts never reach the alerts topic; they reach the
 * shadow topic with the ids (and keys) the alerts topic would have had; and
 * the version that promotes it (the same rule without `shadow`) resolves it
 * in the shadow topic and fires it in the alerts topic from then on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard } from '../../src/engine/shard.js';
import { linesTask } from '../../src/protocol/messages.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { generated } from '../helpers/jobs.js';
import { freshGroup, freshTopic, produceLines, readTopic } from '../helpers/kafka.js';
import { runKafkaJob } from '../helpers/kafka-engine.js';
import { rulesConfig, shardSetup } from '../helpers/rules.js';

const LIVE = [
  { id: 'too-hot', type: 'threshold', above: 89 },
  { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
];
const PREVIEW = { id: 'too-hot-preview', type: 'threshold', above: 80, clearAbove: 78, severity: 'critical' };

/** The engine's alerts for the lines under a rules part of a config, in-process. */
function alertsOf(lines: readonly string[], rules: Record<string, unknown>): Array<Record<string, unknown>> {
  return new Shard(shardSetup(rulesConfig(rules))).process(linesTask(lines)).alerts.map((a) => JSON.parse(a.text) as Record<string, unknown>);
}

test('a shadow rule through Kafka: never in the alerts topic, in the shadow topic with the ids the alerts topic would have used; promoted, it moves over', {
  timeout: 180_000,
}, async (t) => {
  const lines = generated(40_000, 21);
  // generated() stamps reading i at 1_760_000_000_000 + 5 i: the promotion takes effect three quarters in.
  const promotedAt = 1_760_000_000_000 + 5 * 30_000;
  const rules = {
    window: { size: 100, pane: '1s' },
    versions: [
      { version: 1, effectiveFrom: 0, rules: [...LIVE, { ...PREVIEW, shadow: true, shadows: 'too-hot' }] },
      { version: 2, effectiveFrom: promotedAt, rules: [...LIVE, PREVIEW] },
    ],
  };
  const readings = await freshTopic(t, 'readings', 6);
  const alerts = await freshTopic(t, 'alerts', 6);
  const shadow = await freshTopic(t, 'shadow', 6);
  const deadLetters = await freshTopic(t, 'dead', 1);
  await produceLines(readings, lines);
  await runKafkaJob(t, { readings, alerts, shadow, deadLetters, groupId: freshGroup(), workers: 2, rules }, (engine) => engine.stats.records >= lines.length);

  const expected = alertsOf(lines, rules);
  const expectedMain = expected.filter((a) => a.shadow !== true);
  const expectedShadow = expected.filter((a) => a.shadow === true);
  assert.ok(expectedShadow.length > 100, 'the shadow rule fires');
  const main = await readTopic(alerts, { count: expectedMain.length });
  const shadowed = await readTopic(shadow, { count: expectedShadow.length });
  const parse = (records: typeof main) => records.map((r) => JSON.parse(r.value) as Record<string, unknown>);
  assertSameAlerts(parse(main), expectedMain, 'the alerts topic');
  assertSameAlerts(parse(shadowed), expectedShadow, 'the shadow topic');

  // Never in the alerts topic while it is a shadow rule; there only once promoted.
  const preview = (a: Record<string, unknown>) => a.rule === PREVIEW.id;
  for (const alert of parse(main).filter(preview))
    assert.ok((alert.ts as number) >= promotedAt, `${alert.alert_id} reached the alerts topic before its promotion`);
  assert.ok(parse(main).some(preview), 'promoted, it pages');
  assert.ok(parse(main).every((a) => a.shadow === undefined));

  // The ids the alerts topic would have used: the same rule, live from the start, up to the promotion.
  const live = alertsOf(lines, { window: rules.window, rules: [...LIVE, PREVIEW] }).filter((a) => preview(a) && (a.ts as number) < promotedAt);
  const key = (a: Record<string, unknown>) => `${a.alert_id}|${a.status}`;
  const beforePromotion = parse(shadowed).filter((a) => (a.ts as number) < promotedAt);
  assert.deepEqual(beforePromotion.map(key).sort(), live.map(key).sort());
  for (const record of shadowed) assert.equal(record.key, (JSON.parse(record.value) as { zone_id: string }).zone_id, 'keyed by zone, as the alerts topic is');
  // The promotion resolves the shadow states that were firing, as removed (contract §7.2).
  const removed = parse(shadowed).filter((a) => String(a.alert_id).endsWith(':removed'));
  assert.ok(removed.length > 0, 'zones where the preview was firing at the promotion');
  for (const alert of removed) assert.deepEqual([alert.status, alert.shadow, alert.version], ['resolved', true, 2]);
});
