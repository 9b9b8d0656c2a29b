/**
 * The stored image format did not change with the compact zone state
 * (history.ts, pane-ring.ts): images that the dense build (e6acbfe) wrote
 * for fixed readings (test/fixtures/images/format3-dense.json: decimals,
 * 1-decimal values past int16 with a large one, arbitrary doubles, −0,
 * late readings, a pane of 300 readings) are what this build writes for the
 * same readings, byte for byte, and restoring them gives those bytes back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Shard } from '../../../src/engine/shard.js';
import { zoneImage } from '../../../src/engine/zone-image.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';

interface Fixture {
  rules: Parameters<typeof rulesConfig>[0];
  lines: string[];
  images: Record<string, string>;
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../../../../test/fixtures/images/format3-dense.json'), 'utf8')) as Fixture;
const stored = Object.entries(fixture.images).map(([zoneId, base64]) => [zoneId, new Uint8Array(Buffer.from(base64, 'base64'))] as const);

test('the same readings give the images the dense build wrote, byte for byte', () => {
  const shard = new Shard(shardSetup(rulesConfig(fixture.rules), 1, 0));
  shard.process(linesTask(fixture.lines));
  assert.equal(shard.zones.size, stored.length);
  for (const [zoneId, image] of stored) {
    const zone = shard.zones.get(zoneId);
    assert.ok(zone !== undefined, zoneId);
    assert.deepEqual(zoneImage(zone, shard.book), image, zoneId);
  }
});

test("the dense build's images restore to zones whose images are the same bytes", () => {
  const shard = new Shard(shardSetup(rulesConfig(fixture.rules), 1, 0));
  shard.restore(
    stored.map(([zoneId]) => zoneId),
    stored.map(([, image]) => image),
  );
  for (const [zoneId, image] of stored) {
    const zone = shard.zones.get(zoneId);
    assert.ok(zone !== undefined, zoneId);
    assert.deepEqual(zoneImage(zone, shard.book), image, zoneId);
  }
});
