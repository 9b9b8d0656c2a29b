import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard } from '../../../src/engine/shard.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

const W = 5;

function shard(): Shard {
  return new Shard(
    shardSetup(
      rulesConfig({
        window: { size: W },
        rules: [
          { id: 'too-hot', type: 'threshold', above: 89 },
          { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
        ],
      }),
    ),
  );
}

function reading(zone: string, temperature: number, ts: number): string {
  return JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });
}

test('zoneHistory: the latest values oldest first across the ring wrap, with exact mean, σ and firing rules', () => {
  const s = shard();
  const temperatures = [70, 71, 72, 73, 74, 75, 95];
  s.process(linesTask(temperatures.map((t, i) => reading('a', t, i * 1000))));
  const zone = s.zoneHistory('a', W);
  assert.ok(zone !== null);
  const kept = temperatures.slice(-W);
  assert.deepEqual(Array.from(zone.values), kept);
  assert.equal(zone.seq, 7);
  assert.equal(zone.count, W);
  const mean = kept.reduce((a, b) => a + b, 0) / W;
  assert.ok(Math.abs((zone.mean as number) - mean) < 1e-12);
  const std = Math.sqrt(kept.reduce((a, b) => a + (b - mean) ** 2, 0) / W);
  assert.ok(Math.abs((zone.std as number) - std) < 1e-12);
  assert.deepEqual(zone.firing, ['too-hot']);
  assert.deepEqual(Array.from((s.zoneHistory('a', 2) as { values: Float64Array }).values), [75, 95], 'a limit keeps the newest');
  assert.equal(s.zoneHistory('nope', W), null);
});

test('hotZones: firing zones first, then the hottest by latest reading, bounded, with counts', () => {
  const s = shard();
  const lines = [
    reading('cool', 50, 0),
    reading('warm', 80, 0),
    reading('hot', 88, 0),
    reading('alarm', 90, 0),
    reading('alarm', 60, 1000), // resolved again: not firing, latest 60
    reading('boiler', 20, 0),
    reading('boiler', 150, 1000), // firing with its latest reading
  ];
  s.process(linesTask(lines));
  const top = s.hotZones(3);
  assert.deepEqual(
    top.zones.map((z) => [z.zoneId, z.latest, z.firing]),
    [
      ['boiler', 150, ['too-hot']],
      ['hot', 88, []],
      ['warm', 80, []],
    ],
  );
  assert.equal(top.total, 5);
  assert.equal(top.firingZones, 1);
  assert.equal(s.hotZones(0).zones.length, 0);
});
