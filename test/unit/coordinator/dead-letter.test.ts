import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deadLetter } from '../../../src/coordinator/dead-letter.js';
import type { RecordPosition } from '../../../src/io/types.js';

const LIMIT = 65_536;
const source: RecordPosition = { file: '/data/in.ndjson', line: 42 };

interface Parsed {
  reason: string;
  raw: string;
  source: RecordPosition;
}

function parse(value: string): Parsed {
  return JSON.parse(value) as Parsed;
}

/** The raw text survives a round trip through UTF-8 unchanged (no U+FFFD from a split sequence). */
function assertValidUtf8Prefix(raw: string, original: Buffer): void {
  const bytes = Buffer.from(raw, 'utf8');
  assert.ok(bytes.length <= LIMIT, `${bytes.length} bytes`);
  assert.ok(!raw.includes('\ufffd'), 'a replacement character means a sequence was split');
  assert.ok(original.subarray(0, bytes.length).equals(bytes), 'raw is a prefix of the original bytes');
}

describe('deadLetter', () => {
  test('JSON with reason, raw and source; no key', () => {
    const out = deadLetter('not valid JSON', Buffer.from('{"zone_id": "é'), source);
    assert.equal(out.key, '');
    assert.deepEqual(parse(out.value), {
      reason: 'not valid JSON',
      raw: '{"zone_id": "é',
      source,
    });
  });

  test('other source positions are carried as given', () => {
    const kafka: RecordPosition = {
      topic: 'readings',
      partition: 3,
      offset: '12345678901234567890',
    };
    assert.deepEqual(parse(deadLetter('r', Buffer.from(''), kafka).value).source, kafka);
  });

  test('raw exactly at the limit is kept whole', () => {
    const raw = Buffer.alloc(LIMIT, 'x');
    assert.equal(parse(deadLetter('r', raw, source).value).raw.length, LIMIT);
  });

  test('ASCII raw over 64 KiB is cut to exactly 65536 bytes', () => {
    const raw = Buffer.alloc(LIMIT * 2 + 7, 'a');
    const parsed = parse(deadLetter('r', raw, source).value);
    assert.equal(parsed.raw, 'a'.repeat(LIMIT));
  });

  test('a multibyte character straddling the cut is dropped whole, at every alignment', () => {
    for (const char of ['é', '€', '🔥']) {
      const width = Buffer.byteLength(char);
      for (let pad = 0; pad < width + 1; pad++) {
        const raw = Buffer.concat([Buffer.alloc(pad, 'a'), Buffer.from(char.repeat(Math.ceil(LIMIT / width) + 3), 'utf8')]);
        assert.ok(raw.length > LIMIT);
        const parsed = parse(deadLetter('r', raw, source).value);
        assertValidUtf8Prefix(parsed.raw, raw);
        // At most one character (plus nothing else) is lost to the cut.
        assert.ok(Buffer.byteLength(parsed.raw) > LIMIT - 2 * width, `${char} pad ${pad}: ${Buffer.byteLength(parsed.raw)} bytes`);
        assert.equal(parsed.raw.slice(0, pad), 'a'.repeat(pad));
      }
    }
  });

  test('a 2-byte character split by the cut is dropped, the ASCII before it kept', () => {
    // 65,535 ASCII bytes and then a 2-byte character: the cut at 65,536 splits it.
    const raw = Buffer.concat([Buffer.alloc(LIMIT - 1, 'a'), Buffer.from('éz', 'utf8')]);
    const parsed = parse(deadLetter('r', raw, source).value);
    assert.equal(parsed.raw, 'a'.repeat(LIMIT - 1));
  });
});
