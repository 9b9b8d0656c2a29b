import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { findZoneId, findZoneIdWithoutEscapes, hasBackslash, type ZoneIdSpan, zoneIdRange } from '../../../src/sharding/route-hint.js';

function zoneOf(line: string): string | undefined {
  const record = Buffer.from(line, 'utf8');
  const range = zoneIdRange(record);
  return range === undefined ? undefined : record.subarray(range[0], range[1]).toString('utf8');
}

describe('zoneIdRange', () => {
  test('returns the exact byte range of the zone_id in a typical line', () => {
    const line = '{"zone_id":"zone-7","device_id":"d1","temperature":71.5,"ts":1760000000000}';
    const record = Buffer.from(line);
    const start = line.indexOf('zone-7');
    assert.deepEqual(zoneIdRange(record), [start, start + 'zone-7'.length]);
  });

  test('accepts whitespace around the colon, and the key anywhere in the object', () => {
    assert.equal(zoneOf('{"zone_id" : "a b"}'), 'a b');
    assert.equal(zoneOf('{"zone_id"\t:\t"tabbed"}'), 'tabbed');
    assert.equal(zoneOf('{ "device_id": "d", "temperature": 1, "zone_id": "last" }'), 'last');
    assert.equal(zoneOf('{"zone_id":""}'), '', 'an empty zone_id is still a certain range (the parser rejects it)');
  });

  test('byte offsets, not character offsets, with multibyte text before and inside the value', () => {
    const line = '{"device_id":"🌡️é","zone_id":"Zone é/5 🔥","temperature":1}';
    const record = Buffer.from(line, 'utf8');
    const range = zoneIdRange(record);
    assert.ok(range);
    const prefix = Buffer.byteLength('{"device_id":"🌡️é","zone_id":"');
    assert.deepEqual(range, [prefix, prefix + Buffer.byteLength('Zone é/5 🔥')]);
    assert.equal(record.subarray(range[0], range[1]).toString('utf8'), 'Zone é/5 🔥');
  });

  test('works on a view into a larger buffer (offsets relative to the view)', () => {
    const batch = Buffer.from('{"zone_id":"first"}\n{"zone_id":"second"}\n');
    const view = batch.subarray(20, 40);
    assert.equal(view.toString(), '{"zone_id":"second"}');
    assert.deepEqual(zoneIdRange(view), [12, 18]);
  });

  test('returns undefined when a backslash appears anywhere in the record', () => {
    assert.equal(zoneOf('{"zone_id":"a\\"b","device_id":"d"}'), undefined);
    assert.equal(zoneOf('{"zone_id":"plain","device_id":"d\\\\e"}'), undefined);
    assert.equal(zoneOf('{"zone\\u005fid":"x","zone_id":"plain"}'), undefined);
  });

  test('returns undefined when "zone_id" appears twice', () => {
    assert.equal(zoneOf('{"zone_id":"a","zone_id":"b"}'), undefined);
    assert.equal(zoneOf('{"zone_id":"a","device_id":"zone_id"}'), undefined);
    assert.equal(zoneOf('{"meta":{"zone_id":"x"},"zone_id":"y"}'), undefined);
  });

  test('returns undefined when zone_id is not a string', () => {
    assert.equal(zoneOf('{"zone_id":5,"device_id":"d"}'), undefined);
    assert.equal(zoneOf('{"zone_id":null}'), undefined);
    assert.equal(zoneOf('{"zone_id":["a"]}'), undefined);
    assert.equal(zoneOf('{"zone_id":{"a":"b"}}'), undefined);
  });

  test('returns undefined when zone_id is missing or the record is cut short', () => {
    assert.equal(zoneOf('{"device_id":"d","temperature":1}'), undefined);
    assert.equal(zoneOf('{"zone":"a","zone_id_x":"b"}'), undefined);
    assert.equal(zoneOf(''), undefined);
    assert.equal(zoneOf('{"zone_id"'), undefined);
    assert.equal(zoneOf('{"zone_id":'), undefined);
    assert.equal(zoneOf('{"zone_id":"unterminated'), undefined);
    // "zone_id" as a value (not followed by a colon) is not the key.
    assert.equal(zoneOf('{"device_id":"zone_id"}'), undefined);
  });

  test('property: whenever it answers, the range decodes to the zone_id JSON.parse gives', () => {
    const text = fc.oneof(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
      fc.constantFrom('zone_id', '"zone_id"', 'a"b', 'a\\b', 'Zone é/5', '🔥', ':', ' '),
    );
    const space = fc.constantFrom('', ' ', '  ', '\t', '\n', '\r\n');
    const extra = fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => !['zone_id', 'device_id', 'temperature', 'ts'].includes(k)),
      fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
      { maxKeys: 3 },
    );
    const reading = fc.record({
      zone: text,
      device: text,
      temperature: fc.double({ noNaN: true, noDefaultInfinity: true }),
      ts: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), {
        nil: undefined,
      }),
      extra,
      order: fc.integer({ min: 0, max: 1000 }),
      before: space,
      after: space,
    });
    let answered = 0;
    fc.assert(
      fc.property(reading, (r) => {
        const entries: Array<[string, string]> = [
          ['zone_id', JSON.stringify(r.zone)],
          ['device_id', JSON.stringify(r.device)],
          ['temperature', JSON.stringify(r.temperature)],
          ...Object.entries(r.extra).map(([key, v]): [string, string] => [key, JSON.stringify(v)]),
        ];
        if (r.ts !== undefined) entries.push(['ts', String(r.ts)]);
        // Rotate so zone_id is not always first.
        const k = r.order % entries.length;
        const rotated = [...entries.slice(k), ...entries.slice(0, k)];
        const line = `{${rotated.map(([key, v]) => `${JSON.stringify(key)}${r.before}:${r.after}${v}`).join(',')}}`;
        const parsed = JSON.parse(line) as { zone_id: string };
        assert.equal(parsed.zone_id, r.zone, 'the generator builds valid readings');
        const got = zoneOf(line);
        if (got !== undefined) {
          answered++;
          assert.equal(got, parsed.zone_id, line);
        }
      }),
      { numRuns: 1_000 },
    );
    // The property is only meaningful if many cases got an answer.
    assert.ok(answered > 200, `only ${answered} of 1000 readings got a range`);
  });
});

describe('findZoneIdWithoutEscapes (records known to hold no backslash)', () => {
  /** Both finders over bytes[from, to): the same answer and the same span. */
  function bothAnswer(bytes: Uint8Array, from: number, to: number): [ZoneIdSpan | false, ZoneIdSpan | false] {
    const [a, b] = [
      { start: -1, end: -1 },
      { start: -1, end: -1 },
    ];
    return [findZoneId(bytes, from, to, a) && a, findZoneIdWithoutEscapes(bytes, from, to, b) && b];
  }

  test('property: the same answer and span as findZoneId, for text made of the key, its pieces, quotes and spaces', () => {
    // Pieces that make Horspool's skips land anywhere: the key, its parts, overlapping keys ("zone_id"zone_id"), and others.
    const piece = fc.constantFrom(
      '"zone_id"',
      '"zone_id',
      'zone_id"',
      '"zone_id"zone_id"',
      'zone',
      '_id',
      '"',
      ':',
      ' ',
      '\t',
      'x',
      'ab',
      '{',
      '}',
      ',',
      'é',
      'z',
      'd"',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.nat(8), fc.nat(8), (pieces, cutFront, cutBack) => {
        const bytes = Buffer.from(`--${pieces.join('')}--`);
        const from = Math.min(cutFront, bytes.length);
        const to = Math.max(from, bytes.length - cutBack);
        const [slow, fast] = bothAnswer(bytes, from, to);
        assert.deepEqual(fast, slow, JSON.stringify(bytes.toString()));
      }),
      { numRuns: 5_000 },
    );
  });

  test('the same answers on readings, whatever the order of their keys and the spaces between', () => {
    const lines = [
      '{"zone_id":"zone-7","device_id":"d1","temperature":71.5,"ts":1760000000000}',
      '{ "device_id" : "d", "temperature": 1, "zone_id" :\t"last" }',
      '{"zone_id":"a","zone_id":"b"}',
      '{"zone_id":"zone_id"}',
      '{"device_id":"zone_id"}',
      '{"zone_id":5}',
      '{"zone_id"',
      '"zone_id"zone_id":"x"',
    ];
    for (const line of lines) {
      const bytes = Buffer.from(line);
      const [slow, fast] = bothAnswer(bytes, 0, bytes.length);
      assert.deepEqual(fast, slow, line);
    }
    const bytes = Buffer.from('{"zone_id":"zone_id"}');
    assert.deepEqual(bothAnswer(bytes, 0, bytes.length)[1], false, 'a second "zone_id" (here the value) leaves the record to the parser');
  });

  test('hasBackslash finds one anywhere in a view, and none outside it', () => {
    const bytes = Buffer.from('{"a":"b"}\\{"zone_id":"z"}');
    assert.equal(hasBackslash(bytes), true);
    assert.equal(hasBackslash(bytes.subarray(0, 9)), false);
    assert.equal(hasBackslash(bytes.subarray(10)), false);
    assert.equal(hasBackslash(new Uint8Array(new SharedArrayBuffer(4))), false);
  });
});
