/**
 * The compact history (src/engine/history.ts) against a plain Float64Array:
 * every value reads back as the same double, bit for bit (Object.is: −0 and
 * NaN too), whatever the mix of decimals, integers and other doubles, and
 * the room taken follows the values (2, 4 or 8 bytes each).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { History } from '../../../src/engine/history.js';

/** Values as sensors send them, and the ones that must leave the compact forms. */
const value = fc.oneof(
  fc.integer({ min: -9_999, max: 9_999 }).map((k) => Number((k / 100).toFixed(2))),
  fc.integer({ min: -300_000, max: 300_000 }).map((k) => k / 10),
  fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
  fc.integer({ min: -999_999_999, max: 999_999_999 }).map((k) => k / 1e9),
  fc.double({ noNaN: false }),
  fc.constantFrom(0, -0, 0.1, 0.2, 0.3, 1e-300, 2 ** 31, -(2 ** 31), 32_767, 32_768, -32_768, 327.67),
);

function sameBits(actual: number, expected: number, where: string): void {
  assert.ok(Object.is(actual, expected), `${where}: ${actual} is not ${expected} bit for bit`);
}

describe('History', () => {
  test('reads back every value bit for bit, as a ring written in order and wrapped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.array(value, { maxLength: 1_500 }), (size, values) => {
        const history = new History(size);
        const dense = new Float64Array(size);
        values.forEach((x, n) => {
          history.set(n % size, x);
          dense[n % size] = x;
        });
        for (let i = 0; i < size; i++) sameBits(history.at(i), dense[i] as number, `slot ${i}`);
        history.release();
      }),
      { numRuns: 300 },
    );
  });

  test('takes room as it fills, 2 bytes per value for sensor decimals, 4 past 2^15, 8 for other doubles', () => {
    const history = new History(500);
    history.set(0, 70.53);
    assert.equal(history.bytes, 16);
    for (let i = 1; i < 500; i++) history.set(i, Number((60 + (i % 2000) / 100).toFixed(2)));
    assert.equal(history.bytes, 1_000);
    assert.equal(history.bytesPerValue, 2);
    history.set(3, 1234.567);
    assert.equal(history.bytesPerValue, 4);
    sameBits(history.at(3), 1234.567, 'slot 3');
    sameBits(history.at(4), 60.04, 'slot 4 after the move to 4 bytes');
    history.set(5, Math.PI);
    assert.equal(history.bytesPerValue, 8);
    sameBits(history.at(5), Math.PI, 'slot 5');
    sameBits(history.at(3), 1234.567, 'slot 3 after the move to doubles');
    history.release();
  });

  test('−0 is kept as −0 (no integer is −0)', () => {
    const history = new History(4);
    history.set(0, 1.5);
    history.set(1, -0);
    sameBits(history.at(1), -0, 'slot 1');
    sameBits(history.at(0), 1.5, 'slot 0');
    history.release();
  });

  test('a place given back is reused zeroed, and the others keep their values', () => {
    const a = new History(16);
    const b = new History(16);
    for (let i = 0; i < 16; i++) {
      a.set(i, i + 0.25);
      b.set(i, -i - 0.5);
    }
    a.release();
    assert.equal(a.bytes, 0);
    a.release();
    const c = new History(16);
    c.reserve(16);
    for (let i = 0; i < 16; i++) {
      assert.equal(c.at(i), 0);
      sameBits(b.at(i), -i - 0.5, `b's slot ${i}`);
    }
    b.release();
    c.release();
  });
});
