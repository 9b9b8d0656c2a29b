import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { hashBytes, hashString } from '../../../src/sharding/hash.js';

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

describe('hashBytes / hashString', () => {
  const samples = ['', 'zone-1', 'zone-2', 'Zone é/5', 'zoné-12', '🔥 boiler room 🌡️', '日本語のゾーン', 'a'.repeat(300)];

  test('hashBytes over a Buffer range equals hashString of the same UTF-8 text', () => {
    for (const text of samples) {
      const prefix = '{"zone_id":"';
      const record = Buffer.from(`${prefix}${text}","device_id":"d"}`, 'utf8');
      const start = Buffer.byteLength(prefix);
      const end = start + Buffer.byteLength(text);
      assert.equal(record.subarray(start, end).toString('utf8'), text);
      assert.equal(hashBytes(record, start, end), hashString(text), `range hash of ${JSON.stringify(text)}`);
      assert.equal(hashBytes(Buffer.from(text, 'utf8')), hashString(text), `whole-buffer hash of ${JSON.stringify(text)}`);
    }
  });

  test('results are uint32 and differ for nearby keys', () => {
    for (const text of samples) assert.ok(isUint32(hashString(text)), `${hashString(text)} is not a uint32`);
    assert.notEqual(hashString('zone-1'), hashString('zone-2'));
    assert.notEqual(hashString('Zone é/5'), hashString('Zone e/5'));
  });

  test('property: any string, embedded at any offset, hashes the same as a string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), fc.string(), (text, before, after) => {
        const head = Buffer.from(before, 'utf8');
        const body = Buffer.from(text, 'utf8');
        const all = Buffer.concat([head, body, Buffer.from(after, 'utf8')]);
        const h = hashBytes(all, head.length, head.length + body.length);
        assert.ok(isUint32(h));
        assert.equal(h, hashString(text));
      }),
      { numRuns: 500 },
    );
  });
});
