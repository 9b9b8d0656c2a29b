import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { joinPacked, type PackedRecords, packBuffers, packedKey, packedValue, RecordPacker } from '../../../src/io/packed-records.js';

const record = fc.record({
  value: fc.uint8Array({ maxLength: 40 }),
  key: fc.option(fc.uint8Array({ maxLength: 12 }), { freq: 3 }),
  /** Bytes between this record and the one before it, where records lie in one buffer (as in a fetch). */
  gap: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 60, max: 70 })),
});
type Spec = typeof record extends fc.Arbitrary<infer T> ? T : never;

const plain = (packed: PackedRecords, count: number) =>
  Array.from({ length: count }, (_, i) => [Buffer.from(packedValue(packed, i)).toString('hex'), packedKey(packed, i)?.toString('hex') ?? null]);
const expected = (specs: readonly Spec[]) =>
  specs.map((s) => [Buffer.from(s.value).toString('hex'), s.key === null ? null : Buffer.from(s.key).toString('hex')]);

test('packed apart or from one buffer, every record keeps its value and key; bytes shared, close spans copied as one run', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 30 }), (specs) => {
      // Apart: each value and key its own Buffer.
      const apart = packBuffers(
        specs.map((s) => Buffer.from(s.value)),
        specs.map((s) => (s.key === null ? null : Buffer.from(s.key))),
      );
      assert.deepEqual(plain(apart, specs.length), expected(specs));
      assert.ok(apart.bytes.buffer instanceof SharedArrayBuffer);

      // Laid out as a fetch: gap, key, value, record after record, in one buffer read by spans.
      const parts: Buffer[] = [];
      const spans: Array<[number, number, number, number]> = [];
      let at = 0;
      for (const s of specs) {
        parts.push(Buffer.alloc(s.gap, 0xee));
        at += s.gap;
        const keyStart = s.key === null ? -1 : at;
        if (s.key !== null) {
          parts.push(Buffer.from(s.key));
          at += s.key.length;
        }
        parts.push(Buffer.from(s.value));
        spans.push([at, at + s.value.length, keyStart, keyStart < 0 ? 0 : at]);
        at += s.value.length;
      }
      const fetch = Buffer.concat(parts);
      const packer = new RecordPacker(specs.length);
      for (const [valueStart, valueEnd, keyStart, keyEnd] of spans) packer.add(fetch, valueStart, valueEnd, keyStart < 0 ? null : fetch, keyStart, keyEnd);
      const packed = packer.pack();
      assert.deepEqual(plain(packed, specs.length), expected(specs));
      // Gaps of up to 64 bytes are copied with the records around them, longer ones are not.
      const copiedGaps = specs.slice(1).reduce((n, s) => n + (s.gap <= 64 ? s.gap : 0), 0);
      const payload = specs.reduce((n, s) => n + s.value.length + (s.key?.length ?? 0), 0);
      assert.equal(packed.bytes.length, payload + copiedGaps);

      // Joined with itself: the records twice, in order.
      const joined = joinPacked([packed, apart]);
      assert.deepEqual(plain(joined, specs.length * 2), [...expected(specs), ...expected(specs)]);
    }),
    { numRuns: 300 },
  );
});

test('a packer given fewer records than it was made for refuses to pack', () => {
  const packer = new RecordPacker(2);
  packer.addBuffers(Buffer.from('a'), null);
  assert.throws(() => packer.pack(), /packing 1 records of 2/);
});
