import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertSameAlerts, assertZoneOrder } from '../helpers/compare.js';
import { runOnFile, tempDir } from '../helpers/run-engine.js';
import { readSample } from '../helpers/samples.js';

for (const name of ['sample-a', 'sample-b', 'sample-c', 'sample-v2'] as const) {
  describe(`${name} is reproduced exactly`, () => {
    for (const workers of [1, 2, 4]) {
      test(`with ${workers} worker${workers > 1 ? 's' : ''}`, async (t) => {
        const sample = await readSample(name);
        const input = join(await tempDir(t), 'readings.ndjson');
        await writeFile(input, sample.lines.map((line) => `${line}\n`).join(''));
        const out = await runOnFile(t, input, sample.rules, { workers, batchSize: 700 });
        // Shadow rules' alerts (sample-v2) go to the shadow output, never to the alerts sink.
        assertSameAlerts(
          out.alerts,
          sample.alerts.filter((alert) => alert.shadow !== true),
          `${name}/${workers}w`,
        );
        assertSameAlerts(
          out.shadow,
          sample.alerts.filter((alert) => alert.shadow === true),
          `${name}/${workers}w shadow`,
        );
        assertZoneOrder(out.alerts);
        assertZoneOrder(out.shadow);
        assert.deepEqual(
          out.deadLetters.map((d) => d.source.line).sort((a, b) => a - b),
          sample.deadLines,
        );
        for (const dead of out.deadLetters) {
          assert.equal(dead.source.file, input);
          assert.ok(dead.reason.length > 0);
        }
        assert.equal(out.summary.rejected, sample.deadLines.length);
      });
    }
  });
}
