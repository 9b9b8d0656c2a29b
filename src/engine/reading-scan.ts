import { isUtf8 } from 'node:buffer';
import { type Reading, RejectReason } from '../model/reading.js';
import { isRejection, type ParseResult, parseReading } from './reading.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const ZONE_ID = 1;
const DEVICE_ID = 2;
const TEMPERATURE = 4;
const TS = 8;
// The four keys have four lengths: a key is known by its length, then checked byte by byte.
const KEY_BY_LENGTH: ReadonlyArray<readonly [number, Buffer] | undefined> = (() => {
  const keys: Array<readonly [number, Buffer] | undefined> = [];
  for (const [key, name] of [
    [ZONE_ID, 'zone_id'],
    [DEVICE_ID, 'device_id'],
    [TEMPERATURE, 'temperature'],
    [TS, 'ts'],
  ] as const)
    keys[name.length] = [key, Buffer.from(name)];
  return keys;
})();
/** Digits a number may have here: below 2^53, so the digits make an exact integer. */
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Float64Array.from({ length: MAX_DIGITS + 1 }, (_, k) => 10 ** k);

/**
 * One record's reading, read in place: reused from record to record, and
 * the device id (needed only when an alert is written) decoded on demand.
 */
export class RecordReading implements Reading {
  zoneId = '';
  temperature = 0;
  ts = 0;
  private bytes: Buffer = Buffer.alloc(0);
  private deviceStart = 0;
  private deviceEnd = 0;
  private deviceText: string | null = null;

  get deviceId(): string {
    this.deviceText ??= this.bytes.toString('latin1', this.deviceStart, this.deviceEnd);
    return this.deviceText;
  }

  /** Takes a reading the full parser made (a record of another shape). */
  copy(reading: Reading): this {
    this.zoneId = reading.zoneId;
    this.temperature = reading.temperature;
    this.ts = reading.ts;
    this.deviceText = reading.deviceId;
    return this;
  }

  setDevice(bytes: Buffer, start: number, end: number): void {
    this.bytes = bytes;
    this.deviceStart = start;
    this.deviceEnd = end;
    this.deviceText = null;
  }
}

/**
 * Reads a record of the common shape straight from its bytes: one JSON
 * object whose keys are exactly zone_id, device_id, temperature and
 * optionally ts (any order, each once, JSON whitespace anywhere), with
 * ASCII strings without escapes, a temperature of at most 15 digits without
 * exponent, and a ts of at most 15 digits. Such a record is a valid reading
 * and JSON.parse would read the same values: a decimal of at most 15 digits
 * is an exact integer over an exact power of ten, and one IEEE division
 * rounds it correctly, as JSON.parse does.
 *
 * Returns false for anything else (including every record that is not a
 * valid reading): the caller then parses it the full way (reading.ts),
 * which gives the verdict. About 0.2 µs per record against ~1.5 µs for
 * UTF-8 check + JSON.parse + validation (bench/shard-cost.ts).
 */
export function scanReading(bytes: Buffer, start: number, end: number, defaultTs: number, out: RecordReading): boolean {
  // Every read checks i < end first: the bytes go on with the next record.
  let i = skipSpace(bytes, start, end);
  if (i >= end || bytes[i] !== OPEN) return false;
  let seen = 0;
  for (;;) {
    i = skipSpace(bytes, i + 1, end);
    if (i >= end || bytes[i] !== QUOTE) return false;
    const keyStart = i + 1;
    const keyEnd = closingQuote(bytes, keyStart, end);
    if (keyEnd === -1) return false;
    const key = keyOf(bytes, keyStart, keyEnd);
    if (key === 0 || (seen & key) !== 0) return false;
    seen |= key;
    i = skipSpace(bytes, keyEnd + 1, end);
    if (i >= end || bytes[i] !== COLON) return false;
    i = skipSpace(bytes, i + 1, end);
    if (i >= end) return false;
    if (key === ZONE_ID || key === DEVICE_ID) {
      if (bytes[i] !== QUOTE) return false;
      const valueStart = i + 1;
      const valueEnd = plainString(bytes, valueStart, end);
      // Empty, too long or not plain ASCII: the full parser says which.
      if (valueEnd <= valueStart || valueEnd - valueStart > 256) return false;
      if (key === ZONE_ID) out.zoneId = bytes.toString('latin1', valueStart, valueEnd);
      else out.setDevice(bytes, valueStart, valueEnd);
      i = valueEnd + 1;
    } else {
      i = key === TEMPERATURE ? scanDecimal(bytes, i, end, out, false) : scanDecimal(bytes, i, end, out, true);
      if (i < 0) return false;
    }
    i = skipSpace(bytes, i, end);
    if (i >= end) return false;
    const next = bytes[i];
    if (next === CLOSE) break;
    if (next !== COMMA) return false;
  }
  if (skipSpace(bytes, i + 1, end) !== end) return false;
  if ((seen & (ZONE_ID | DEVICE_ID | TEMPERATURE)) !== (ZONE_ID | DEVICE_ID | TEMPERATURE)) return false;
  if ((seen & TS) === 0) out.ts = defaultTs;
  return true;
}

function skipSpace(bytes: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const byte = bytes[i] as number;
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * The first quote in bytes[from, end), or -1. Keys are a few bytes long: a
 * loop here beat Buffer#indexOf, whose call into C++ cost more than the
 * search (perf on a worker put ~5% of its time in that call, 4 per reading).
 */
function closingQuote(bytes: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (bytes[i] === QUOTE) return i;
  return -1;
}

function keyOf(bytes: Buffer, start: number, end: number): number {
  const known = KEY_BY_LENGTH[end - start];
  if (known === undefined) return 0;
  const name = known[1];
  for (let k = 0; k < name.length; k++) if (bytes[start + k] !== name[k]) return 0;
  return known[0];
}

/** The end (its closing quote) of a string of printable ASCII without escapes from `from`; -1 if it is not one. */
function plainString(bytes: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte === QUOTE) return i;
    if (byte < 0x20 || byte > 0x7f || byte === BACKSLASH) return -1;
  }
  return -1;
}

/**
 * A JSON number of at most 15 digits without exponent, into out.temperature;
 * or, `integer`, one of digits only into out.ts. Returns the index after it,
 * or -1 when it is anything else (the full parser decides).
 */
function scanDecimal(bytes: Buffer, from: number, end: number, out: RecordReading, integer: boolean): number {
  let i = from;
  const negative = bytes[i] === MINUS;
  if (negative) {
    if (integer) return -1;
    i++;
  }
  const first = i;
  let mantissa = 0;
  let byte = bytes[i] as number;
  while (i < end && byte >= ZERO && byte <= NINE) {
    mantissa = mantissa * 10 + (byte - ZERO);
    byte = bytes[++i] as number;
  }
  const intDigits = i - first;
  // No digits, or a leading zero before another digit: not JSON.
  if (intDigits === 0 || (intDigits > 1 && bytes[first] === ZERO)) return -1;
  let fraction = 0;
  if (i < end && byte === DOT) {
    if (integer) return -1;
    const fractionStart = ++i;
    byte = bytes[i] as number;
    while (i < end && byte >= ZERO && byte <= NINE) {
      mantissa = mantissa * 10 + (byte - ZERO);
      byte = bytes[++i] as number;
    }
    fraction = i - fractionStart;
    if (fraction === 0) return -1;
  }
  if (intDigits + fraction > MAX_DIGITS) return -1;
  // An exponent: the full parser reads it.
  if (i < end && (byte === 0x65 || byte === 0x45)) return -1;
  if (integer) out.ts = mantissa;
  else {
    const value = fraction === 0 ? mantissa : mantissa / (POWERS_OF_TEN[fraction] as number);
    out.temperature = negative ? -value : value;
  }
  return i;
}

/**
 * The record in bytes[start, end) as a reading: `reuse`, filled by the scan
 * when the record has the common shape, else by the full parser, whose
 * verdict a record it refuses gets.
 */
export function readRecord(bytes: Buffer, start: number, end: number, defaultTs: number, reuse: RecordReading): ParseResult {
  if (scanReading(bytes, start, end, defaultTs, reuse)) return reuse;
  const record = bytes.subarray(start, end);
  const full = isUtf8(record) ? parseReading(record.toString('utf8'), defaultTs) : RejectReason.notUtf8;
  return isRejection(full) ? full : reuse.copy(full);
}
