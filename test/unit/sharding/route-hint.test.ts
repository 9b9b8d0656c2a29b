import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { zoneIdRange } from '../../../src/sharding/route-hint.js';

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
