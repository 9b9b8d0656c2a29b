import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { byteChunks } from '../../../src/io/byte-chunks.js';

test('byteChunks: every record once, in order; no run over the limit unless one record alone is', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }), fc.integer({ min: 1, max: 1_000 }), (sizes, maxBytes) => {
      const runs = byteChunks(sizes, maxBytes, (size) => size);
      for (const run of runs)
        assert.equal(
          run.bytes,
          run.records.reduce((sum, size) => sum + size, 0),
          'each run with its size',
        );
      const chunks = runs.map((run) => run.records);
      assert.deepEqual(chunks.flat(), sizes);
      for (const chunk of chunks) {
        assert.ok(chunk.length > 0);
        const bytes = chunk.reduce((sum, size) => sum + size, 0);
        assert.ok(bytes <= maxBytes || chunk.length === 1, `a run of ${bytes} bytes over ${maxBytes}`);
      }
      // Greedy: a run ends only because the next record would not fit.
      for (let i = 0; i + 1 < chunks.length; i++) {
        const bytes = (chunks[i] as number[]).reduce((sum, size) => sum + size, 0);
        assert.ok(bytes + ((chunks[i + 1] as number[])[0] as number) > maxBytes);
      }
    }),
  );
});
