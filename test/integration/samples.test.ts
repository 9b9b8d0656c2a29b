import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertSameAlerts, assertZoneOrder } from '../helpers/compare.js';
import { readNdjson, runOnFile } from '../helpers/run-engine.js';
import { SHARED_DATA } from '../helpers/shared.js';

for (const sample of ['sample-a', 'sample-b', 'sample-c']) {
  describe(`${sample} is reproduced exactly`, () => {
    for (const workers of [1, 2, 4]) {
      test(`with ${workers} worker${workers > 1 ? 's' : ''}`, async (t) => {
        const dir = join(SHARED_DATA, sample);
        const rules = JSON.parse(await readFile(join(dir, 'rules.json'), 'utf8')) as Record<string, unknown>;
        const input = join(dir, 'readings.ndjson');
        const out = await runOnFile(t, input, rules, { workers, batchSize: 700 });
        assertSameAlerts(out.alerts, await readNdjson(join(dir, 'alerts.ndjson')), `${sample}/${workers}w`);
        assertZoneOrder(out.alerts);
        const expectedDead = (await readNdjson(join(dir, 'dead-letters.ndjson'))).map((d) => d.line as number);
        assert.deepEqual(
          out.deadLetters.map((d) => d.source.line).sort((a, b) => a - b),
          expectedDead.sort((a, b) => a - b),
        );
        for (const dead of out.deadLetters) {
          assert.equal(dead.source.file, input);
          assert.ok(dead.reason.length > 0);
        }
        assert.equal(out.summary.rejected, expectedDead.length);
      });
    }
  });
}
