import { replaceKafkajsModule, requireKafkajs } from './kafkajs-modules.js';

/**
 * kafkajs's Record encoder (one record of a produced record batch), made in
 * one buffer.
 *
 * kafkajs 2.2.4 builds each record with an Encoder that zero-fills a 512-byte
 * buffer of its own, then writes every varint through an array and a
 * Buffer.from: ~2.5 µs and ~1.5 KB of garbage per alert on the coordinator
 * (a produce request of 1,680 alerts encoded in a loop, CPU-profiled). Here
 * a record of the usual shape (no headers, key and value strings, Buffers or
 * null, small deltas) is written straight into one pooled buffer, byte for
 * byte what kafkajs writes (a property test holds it to kafkajs's); any other
 * record is kafkajs's own.
 */

interface RecordFields {
  offsetDelta?: unknown;
  timestampDelta?: unknown;
  key?: unknown;
  value?: unknown;
  headers?: unknown;
}
/** kafkajs's Encoder, as much of it as a record batch reads: the bytes are buf[0, offset). */
interface EncodedRecord {
  buf: Buffer;
  offset: number;
}
type RecordEncode = (fields: RecordFields) => EncodedRecord;

const RECORD_PATH = requireKafkajs.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const PRODUCE_REQUEST_PATH = requireKafkajs.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
const ENCODER_PATH = requireKafkajs.resolve('kafkajs/src/protocol/encoder.js');

/** kafkajs's own record encoder (the tests hold the replacement to it). */
export const kafkajsRecord = requireKafkajs(RECORD_PATH) as RecordEncode;
const Encoder = requireKafkajs(ENCODER_PATH) as { prototype: object };

/** Deltas within ±2^30: their zigzag fits 31 bits, and a varlong of one is the same bytes as a varint. */
const DELTA_LIMIT = 2 ** 30;

export const encodeRecord: RecordEncode = (fields) => {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers } = fields;
  if (!isDelta(offsetDelta) || !isDelta(timestampDelta) || !isPlainBytes(key) || !isPlainBytes(value) || !isNoHeaders(headers)) {
    return kafkajsRecord(fields);
  }
  const keyLength = bytesLength(key);
  const valueLength = bytesLength(value);
  const zigzagTimestamp = zigzag(timestampDelta);
  const zigzagOffset = zigzag(offsetDelta);
  const body =
    1 + // attributes
    varintSize(zigzagTimestamp) +
    varintSize(zigzagOffset) +
    varintSize(zigzag(keyLength)) +
    Math.max(keyLength, 0) +
    varintSize(zigzag(valueLength)) +
    Math.max(valueLength, 0) +
    1; // no headers
  const size = varintSize(zigzag(body)) + body;
  const buf = Buffer.allocUnsafe(size);
  let at = writeVarint(buf, 0, zigzag(body));
  buf[at++] = 0;
  at = writeVarint(buf, at, zigzagTimestamp);
  at = writeVarint(buf, at, zigzagOffset);
  at = writeBytes(buf, at, key, keyLength);
  at = writeBytes(buf, at, value, valueLength);
  buf[at++] = 0;
  // An Encoder holding these bytes, so that whatever kafkajs asks of a record works.
  const encoded = Object.create(Encoder.prototype) as EncodedRecord;
  encoded.buf = buf;
  encoded.offset = at;
  return encoded;
};

function isDelta(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= -DELTA_LIMIT && (value as number) < DELTA_LIMIT;
}

function isPlainBytes(value: unknown): value is string | Buffer | null | undefined {
  return value == null || typeof value === 'string' || Buffer.isBuffer(value);
}

/** kafkajs writes `headers = {}` when there are none; null (which kafkajs refuses) is not "none". */
function isNoHeaders(headers: unknown): boolean {
  if (headers === undefined) return true;
  if (headers === null || typeof headers !== 'object') return false;
  // An inherited enumerable key (kafkajs would ignore it) is left to kafkajs too.
  for (const _ in headers) return false;
  return true;
}

/** Its length in bytes as kafkajs writes it; -1 for null. */
function bytesLength(value: string | Buffer | null | undefined): number {
  if (value == null) return -1;
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

function zigzag(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function varintSize(unsigned: number): number {
  let bytes = 1;
  for (let rest = unsigned >>> 7; rest !== 0; rest >>>= 7) bytes++;
  return bytes;
}

function writeVarint(buf: Buffer, from: number, unsigned: number): number {
  let at = from;
  let rest = unsigned;
  while (rest >= 0x80) {
    buf[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buf[at++] = rest;
  return at;
}

function writeBytes(buf: Buffer, from: number, value: string | Buffer | null | undefined, length: number): number {
  const at = writeVarint(buf, from, zigzag(length));
  if (value == null) return at;
  if (typeof value === 'string') buf.write(value, at, length, 'utf8');
  else value.copy(buf, at);
  return at + length;
}

/** Whether kafkajs's producers in this process encode records here (kafkajs.ts loads kafkajs after this). */
export const recordEncoderInstalled = replaceKafkajsModule(RECORD_PATH, PRODUCE_REQUEST_PATH, encodeRecord);
