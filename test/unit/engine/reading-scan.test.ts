/**
 * The fast reading scanner (src/engine/reading-scan.ts) fuzzed against the
 * full parser it stands in for (src/engine/reading.ts): whatever it accepts,
 * the full parser accepts with the very same values (-0 included), on
 * records of every shape a producer might send and on random mutations of
 * them, each surrounded by other bytes it must not read.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isRejection, parseReading } from '../../../src/engine/reading.js';
import { RecordReading, scanReading } from '../../../src/engine/reading-scan.js';
import { Plant } from '../../../src/io/generator/readings.js';

const DEFAULT_TS = 1_234_567;

/** Mostly `usual`, sometimes `odd`: a record is scanned only when every part of it is usual. */
const mostly = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 12 }, { arbitrary: odd, weight: 1 });
const space = mostly(fc.constant(''), fc.constantFrom(' ', '  ', '\n', '\t', '\r\n', '\u00a0'));
const identifier = mostly(
  fc.stringMatching(/^[a-z0-9_ -]{1,12}$/),
  fc.oneof(
    fc.constantFrom('', 'zoné', 'z\\"1', 'z\\u0041', 'a\u0001b', 'x'.repeat(256), 'x'.repeat(257), '😀'.repeat(200), 'del\u007f', 'tab\tin'),
    fc.string({ maxLength: 8 }),
  ),
);
const stringValue = identifier.map((s) => (s.includes('\\') ? `"${s}"` : JSON.stringify(s)));
const number = mostly(
  fc.integer({ min: -1e6, max: 1e6 }).map((i) => String(i / 1000)),
  fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.constantFrom(
      '0',
      '-0',
      '-0.0',
      '00',
      '01.5',
      '1.',
      '.5',
      '-',
      '1e3',
      '1E-2',
      '2.5e+1',
      '12345678901234.5',
      '1234567890123456',
      '0.1234567890123456',
      '1e400',
      '9007199254740993',
      '72.50',
      '-12.125',
      '1.0',
      '+1',
      'NaN',
      '0x10',
      '1_000',
      '72.5abc',
    ),
  ),
);
const ts = mostly(
  fc.integer({ min: 0, max: 2 ** 50 }).map(String),
  fc.oneof(
    fc.integer({ min: 0, max: 2 ** 53 }).map(String),
    fc.constantFrom(
      '0',
      '-0',
      '-1',
      '1.0',
      '1.5',
      '1e3',
      '01',
      '9007199254740991',
      '9007199254740992',
      '123456789012345',
      '1234567890123456',
      '"5"',
      'null',
      'true',
    ),
  ),
);
const otherValue = fc.constantFrom('null', 'true', '[]', '{}', '"x"', '40.5', '{"a":1}');

/** A record as producers write it, or nearly: keys in any order, some missing, repeated or extra, values of any kind. */
const record = fc
  .record({
    zone: mostly(stringValue, otherValue),
    device: mostly(stringValue, otherValue),
    temperature: mostly(number, otherValue),
    ts: fc.option(mostly(ts, otherValue), { freq: 4 }),
    extra: mostly(fc.constant(null), fc.constantFrom('"humidity":40.5', '"zone_id":"again"', '"ts":7', '"zone\\u005fid":"z"', '"":1')),
    drop: mostly(fc.constant(null), fc.constantFrom('zone', 'device', 'temperature')),
    order: fc.integer({ min: 0, max: 23 }),
    spaces: fc.array(space, { minLength: 12, maxLength: 12 }),
    tail: mostly(fc.constantFrom('', '\n'), fc.constantFrom(' ', ' x', ',', '}')),
  })
  .map((r) => {
    const s = (i: number) => r.spaces[i] as string;
    let fields = [
      ['zone', `"zone_id"${s(0)}:${s(1)}${r.zone}`],
      ['device', `"device_id"${s(2)}:${s(3)}${r.device}`],
      ['temperature', `"temperature"${s(4)}:${s(5)}${r.temperature}`],
    ];
    if (r.ts !== null) fields.push(['ts', `"ts"${s(6)}:${s(7)}${r.ts}`]);
    if (r.drop !== null) fields = fields.filter(([name]) => name !== r.drop);
    // A permutation of the fields from `order`.
    const pool = [...fields];
    const ordered: string[] = [];
    let k = r.order;
    while (pool.length > 0) {
      ordered.push((pool.splice(k % pool.length, 1)[0] as string[])[1] as string);
      k = Math.floor(k / 2);
    }
    if (r.extra !== null) ordered.splice(r.order % (ordered.length + 1), 0, r.extra);
    return `${s(8)}{${s(9)}${ordered.join(`${s(10)},${s(11)}`)}}${r.tail}`;
  });

/** Bytes flipped, cut or doubled somewhere in a record. */
const mutated = fc
  .tuple(record, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert', 'truncate'))
  .map(([text, at, byte, how]) => {
    const bytes = Buffer.from(text);
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    if (how === 'flip') bytes[i] = byte;
    if (how === 'cut') return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
    if (how === 'insert') return Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
    if (how === 'truncate') return bytes.subarray(0, i);
    return bytes;
  });

/** Scans `bytes` placed between neighbours (which it must not read) and checks it against the full parser. */
function agrees(bytes: Buffer, before: string, after: string): boolean {
  const buffer = Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
  const start = Buffer.byteLength(before);
  const out = new RecordReading();
  const accepted = scanReading(buffer, start, start + bytes.length, DEFAULT_TS, out);
  if (!accepted) return false;
  const full = parseReading(bytes.toString('utf8'), DEFAULT_TS);
  assert.ok(!isRejection(full), `accepted ${JSON.stringify(bytes.toString('utf8'))}, which the full parser rejects: ${String(full)}`);
  assert.equal(out.zoneId, full.zoneId);
  assert.equal(out.deviceId, full.deviceId);
  assert.ok(Object.is(out.temperature, full.temperature), `temperature ${out.temperature} vs ${full.temperature} in ${bytes}`);
  assert.ok(Object.is(out.ts, full.ts), `ts ${out.ts} vs ${full.ts} in ${bytes}`);
  return true;
}

const neighbours = fc.tuple(
  fc.constantFrom('', '{', '"', '}', '{"zone_id":"n","device_id":"d","temperature":1}'),
  fc.constantFrom('', '}', '"', ' ', '0', ',"ts":5}', 'e5', '{"zone_id":"n","device_id":"d","temperature":1}'),
);

describe('reading scanner', () => {
  test('accepts only what the full parser accepts, with the same values', () => {
    let accepted = 0;
    fc.assert(
      fc.property(record, neighbours, (text, [before, after]) => {
        if (agrees(Buffer.from(text), before, after)) accepted++;
      }),
      { numRuns: 20_000 },
    );
    // Not a scanner that refuses everything: the common shapes among them go the fast way.
    assert.ok(accepted > 1_000, `only ${accepted} of 20,000 records scanned`);
  });

  test('mutated records: never a verdict the full parser would not give', () => {
    fc.assert(
      fc.property(mutated, neighbours, (bytes, [before, after]) => {
        agrees(bytes, before, after);
      }),
      { numRuns: 20_000 },
    );
  });

  test("the simulated plant's valid readings all take the fast way", () => {
    const plant = new Plant({ zones: 100, devicesPerZone: 4, seed: 3, spikeRate: 0.01, heatWaveRate: 0.001, badRate: 0.01 });
    const out = new RecordReading();
    let valid = 0;
    for (let i = 0; i < 5_000; i++) {
      const line = plant.next(1_760_000_000_000 + i * 10).line;
      const bytes = Buffer.from(line);
      if (isRejection(parseReading(line, 0))) {
        assert.equal(scanReading(bytes, 0, bytes.length, 0, out), false, line);
        continue;
      }
      valid++;
      assert.ok(agrees(bytes, '', ''), `not scanned: ${line}`);
    }
    assert.ok(valid > 4_800, `${valid} valid`);
  });

  test('a missing ts takes the default; the device id is decoded on demand', () => {
    const out = new RecordReading();
    const bytes = Buffer.from(' { "temperature" : -0.5 , "device_id":"d-1","zone_id":"z" } ');
    assert.ok(scanReading(bytes, 0, bytes.length, 99, out));
    assert.deepEqual(
      { zoneId: out.zoneId, deviceId: out.deviceId, temperature: out.temperature, ts: out.ts },
      { zoneId: 'z', deviceId: 'd-1', temperature: -0.5, ts: 99 },
    );
  });
});
