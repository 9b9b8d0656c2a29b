import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRejection, parseReading } from '../../../src/engine/reading.js';
import { RejectReason } from '../../../src/model/reading.js';

const DEFAULT_TS = 1_760_000_000_000;

function line(fields: Record<string, unknown>): string {
  return JSON.stringify(fields);
}

const good = {
  zone_id: 'zone-1',
  device_id: 'dev-1',
  temperature: 72.5,
  ts: 1_760_000_000_123,
};

/** A reading's text with one field replaced (or removed when value is undefined). */
function withField(name: string, value: unknown): string {
  const fields: Record<string, unknown> = { ...good };
  if (value === undefined) delete fields[name];
  else fields[name] = value;
  return line(fields);
}

describe('parseReading', () => {
  test('accepts a valid reading', () => {
    assert.deepEqual(parseReading(line(good), DEFAULT_TS), {
      zoneId: 'zone-1',
      deviceId: 'dev-1',
      temperature: 72.5,
      ts: 1_760_000_000_123,
    });
  });

  test('ts defaults to defaultTs when absent', () => {
    const result = parseReading(withField('ts', undefined), DEFAULT_TS);
    assert.ok(!isRejection(result));
    assert.equal(result.ts, DEFAULT_TS);
    assert.equal(result.temperature, 72.5);
  });

  test('extra fields are ignored', () => {
    const text = line({
      ...good,
      unit: 'F',
      meta: { a: [1, 2] },
      zone: 'other',
    });
    assert.deepEqual(parseReading(text, DEFAULT_TS), parseReading(line(good), DEFAULT_TS));
  });

  test('not JSON', () => {
    for (const text of ['not json', '', '{"zone_id":', "{'zone_id':'a'}", '{"a":1}x']) {
      assert.equal(parseReading(text, DEFAULT_TS), RejectReason.notJson, JSON.stringify(text));
    }
  });

  test('JSON that is not an object', () => {
    for (const text of ['[1,2,3]', '[]', 'null', '"zone-1"', '42', 'true']) {
      assert.equal(parseReading(text, DEFAULT_TS), RejectReason.notObject, text);
    }
  });

  test('zone_id must be a string of 1..256 characters (code points)', () => {
    for (const bad of ['', 5, null, ['a'], 'x'.repeat(257), '🔥'.repeat(257), undefined]) {
      assert.equal(parseReading(withField('zone_id', bad), DEFAULT_TS), RejectReason.zoneId, String(bad).slice(0, 20));
    }
    for (const ok of ['z', 'x'.repeat(256), '🔥'.repeat(256), `${'🔥'.repeat(255)}x`, 'Zone é/5']) {
      const result = parseReading(withField('zone_id', ok), DEFAULT_TS);
      assert.ok(!isRejection(result), `${ok.length} UTF-16 units rejected: ${String(result)}`);
      assert.equal(result.zoneId, ok);
    }
  });

  test('device_id must be a string of 1..256 characters', () => {
    for (const bad of [undefined, '', 7, 'd'.repeat(257)]) {
      assert.equal(parseReading(withField('device_id', bad), DEFAULT_TS), RejectReason.deviceId, String(bad).slice(0, 20));
    }
    assert.ok(!isRejection(parseReading(withField('device_id', 'd'.repeat(256)), DEFAULT_TS)));
  });

  test('temperature must be a finite number', () => {
    for (const bad of ['72.5', null, true, undefined, {}]) {
      assert.equal(parseReading(withField('temperature', bad), DEFAULT_TS), RejectReason.temperature, String(bad));
    }
    // 1e999 parses to Infinity; written by hand since JSON.stringify cannot produce it.
    const overflow = '{"zone_id":"z","device_id":"d","temperature":1e999,"ts":5}';
    assert.equal(parseReading(overflow, DEFAULT_TS), RejectReason.temperature);
    const negative = '{"zone_id":"z","device_id":"d","temperature":-1e999,"ts":5}';
    assert.equal(parseReading(negative, DEFAULT_TS), RejectReason.temperature);
    for (const ok of [0, -40, 1e300, -0.001]) {
      const result = parseReading(withField('temperature', ok), DEFAULT_TS);
      assert.ok(!isRejection(result));
      assert.equal(result.temperature, ok);
    }
  });

  test('ts must be a non-negative safe integer', () => {
    for (const bad of [1.5, -5, '123', 2 ** 53, null, true, 1e300]) {
      assert.equal(parseReading(withField('ts', bad), DEFAULT_TS), RejectReason.ts, String(bad));
    }
    for (const ok of [0, 1, 2 ** 53 - 1]) {
      const result = parseReading(withField('ts', ok), DEFAULT_TS);
      assert.ok(!isRejection(result), `ts ${ok}`);
      assert.equal(result.ts, ok);
    }
  });

  test('fields are checked in contract order: zone_id before device_id before temperature before ts', () => {
    assert.equal(parseReading('{"temperature":"x","ts":1.5}', DEFAULT_TS), RejectReason.zoneId);
    assert.equal(parseReading('{"zone_id":"z","temperature":"x","ts":1.5}', DEFAULT_TS), RejectReason.deviceId);
    assert.equal(parseReading('{"zone_id":"z","device_id":"d","ts":1.5}', DEFAULT_TS), RejectReason.temperature);
  });
});
