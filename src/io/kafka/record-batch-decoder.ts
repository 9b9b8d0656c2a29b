import { replaceKafkajsModule, requireKafkajs } from './kafkajs-modules.js';

/**
 * A faster decoder of Kafka record batches for kafkajs, giving the same records.
 *
 * kafkajs decodes each record through a Decoder of its own, a slice, and two
 * 64-bit sums done by parsing and printing BigInts (offset and timestamp), with a
 * Long per byte of the timestamp's varint: on a backlog that was ~1 µs of the
 * coordinator's ~3.8 µs per reading, with the garbage it leaves for the GC
 * threads (bench/results/profile.md). Records of the usual shape are read here
 * straight from the fetch buffer with plain numbers. Anything else — a varint
 * longer than 4 bytes, a negative length or count, a field past its record,
 * offsets or times within 2^28 of 2^53, a header named `__proto__`, and any
 * error at all (a codec kafkajs lacks, bad gzip) — sends the whole batch to
 * kafkajs's own decoder, so the records always hold what kafkajs's hold
 * (test/unit/io/kafka/record-batch-decoder.test.ts checks both against each
 * other); see FetchedRecord for how they differ as objects.
 *
 * kafkajs 2.2.4 is its last release; package.json pins it, because this reads
 * its internal modules.
 */

const DECODER_PATH = requireKafkajs.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
const DECODE_MESSAGES_PATH = requireKafkajs.resolve('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');

/** kafkajs's Decoder: the fields and methods used here. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readAll(): Buffer;
  slice(size: number): KafkajsDecoder;
  forward(size: number): void;
}

/**
 * As kafkajs builds them. Like kafkajs, a header named after an Object.prototype
 * member ("constructor") comes back as [that member, value]: its `obj[key] ===
 * undefined` check sees the inherited one.
 */
type Headers = Record<string, Buffer | null | Array<Buffer | null>>;

/** A record as kafkajs's record decoder makes it, field for field. */
export interface DecodedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly isControlRecord: boolean;
  readonly batchContext: BatchContext;
}

/**
 * A record read by Klaxon's decoder: kafkajs's fields, with its attributes,
 * offset, key, value and timestamp made when asked for (each read of key or
 * value reads the record's bytes again and makes a new view of them; a write
 * keeps what was written; JSON gives kafkajs's fields). Unlike kafkajs's
 * plain objects, a spread or Object.keys sees where the record is, not key,
 * value and timestamp: nothing in Klaxon or in kafkajs 2.2.4 copies records
 * that way. The Kafka source never asks: it copies the bytes from their spans
 * in the fetch buffer (recordSpans) and reads the numbers (kafka-source.ts).
 * kafkajs's record costs a Buffer each for the key and the value (96 bytes of
 * heap apiece) and strings for the offset and the time, all kept while a
 * fetch waits for the engine, which the coordinator's GC copied again and
 * again. This one is 6 fields: where it starts, its offset and time delta as
 * small integers, its headers (one shared empty object for most) and what
 * its batch's records share.
 */
export class FetchedRecord implements DecodedRecord {
  constructor(
    /** The fetch buffer (or the decompressed batch) the record is in. */
    readonly source: Buffer,
    /** Where its attributes byte is; its deltas, key and value follow, read again when asked (recordSpans). */
    readonly at: number,
    /** The offset, exact (the decoder hands batches with offsets near 2^53 to kafkajs). */
    readonly offsetNumber: number,
    private readonly timestampDelta: number,
    readonly headers: Headers,
    private readonly batch: BatchTimes,
  ) {}

  get attributes(): number {
    return this.source.readInt8(this.at);
  }

  /** The record's time, ms: kafkajs's timestamp as a number. */
  get timestampMs(): number {
    const batch = this.batch;
    return batch.logAppend ? batch.appendedAt : batch.firstTimestamp + this.timestampDelta;
  }

  get batchContext(): BatchContext {
    return this.batch.context;
  }

  get magicByte(): number {
    return this.batch.context.magicByte;
  }

  get isControlRecord(): boolean {
    return this.batch.context.isControlBatch;
  }

  get offset(): string {
    return String(this.offsetNumber);
  }

  get timestamp(): string {
    return String(this.timestampMs);
  }

  get key(): Buffer | null {
    const { keyStart, keyEnd } = recordSpans(this);
    return keyStart < 0 ? null : this.source.subarray(keyStart, keyEnd);
  }

  get value(): Buffer | null {
    const { valueStart, valueEnd } = recordSpans(this);
    return valueStart < 0 ? null : this.source.subarray(valueStart, valueEnd);
  }

  // A consumer may write a record's fields, as it may kafkajs's: the value written is kept.
  set attributes(attributes: number) {
    keepWritten(this, 'attributes', attributes);
  }

  set batchContext(context: BatchContext) {
    keepWritten(this, 'batchContext', context);
  }

  set offset(offset: string) {
    keepWritten(this, 'offset', offset);
  }

  set timestamp(timestamp: string) {
    keepWritten(this, 'timestamp', timestamp);
  }

  set key(key: Buffer | null) {
    keepWritten(this, 'key', key);
  }

  set value(value: Buffer | null) {
    keepWritten(this, 'value', value);
  }

  /** kafkajs's fields, not the positions (which would serialise the whole fetch buffer with every record). */
  toJSON(): DecodedRecord {
    return recordFields(this);
  }
}

/** What a record batch's records share: kafkajs's context, and the numbers their times come from. */
export class BatchTimes {
  constructor(
    readonly context: BatchContext,
    readonly firstTimestamp: number,
    /** A log-append batch's time (kafkajs gives each record the batch's max timestamp). */
    readonly appendedAt: number,
    readonly logAppend: boolean,
  ) {}
}

/** Where a record's key and value lie in its source: start -1 for a null one. */
export interface RecordSpans {
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

const spans: RecordSpans = { keyStart: -1, keyEnd: 0, valueStart: -1, valueEnd: 0 };

/**
 * Where the record's key and value lie, read again from its bytes (the
 * decoder read them once to check the record, and kept only where it
 * starts): the same object each call, overwritten by the next.
 */
export function recordSpans(record: FetchedRecord): Readonly<RecordSpans> {
  const reader = respanReader.reset(record.source, record.at + 1);
  reader.varint(); // timestamp delta
  reader.varint(); // offset delta
  spans.keyStart = reader.span();
  spans.keyEnd = reader.pos;
  spans.valueStart = reader.span();
  spans.valueEnd = reader.pos;
  // Not holding on to a fetch buffer (megabytes) once its records are packed.
  reader.reset(NO_BYTES, 0);
  return spans;
}

/** A field written over one made when read: an own field from then on, as kafkajs's records have. */
function keepWritten(record: FetchedRecord, field: 'attributes' | 'batchContext' | 'offset' | 'timestamp' | 'key' | 'value', value: unknown): void {
  Object.defineProperty(record, field, { value, writable: true, enumerable: true, configurable: true });
}

/** kafkajs's fields of a record, as plain data (FetchedRecord makes some when asked). */
export function recordFields(record: DecodedRecord): DecodedRecord {
  const { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord, batchContext } = record;
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord, batchContext };
}

interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

export type RecordBatchDecode = (fetchDecoder: KafkajsDecoder) => Promise<Omit<BatchContext, 'magicByte'> & { records: DecodedRecord[] }>;

interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>;
}

/**
 * What every copy of this module in the process shares (a second copy, loaded
 * through another path, would otherwise find the first one's dispatch where
 * kafkajs's decoder was, and its choice would do nothing).
 */
interface SharedState {
  choice: RecordDecoderChoice;
  kafkajsDecode: RecordBatchDecode;
  installed?: boolean;
}
const STATE_KEY = Symbol.for('klaxon.recordBatchDecoder');
const globals = globalThis as { [STATE_KEY]?: SharedState };
// Taken before the replacement below puts `dispatch` in its place; later copies find it here.
globals[STATE_KEY] ??= { choice: 'klaxon', kafkajsDecode: requireKafkajs(DECODER_PATH) as RecordBatchDecode };
const shared = globals[STATE_KEY];
const kafkajsDecode: RecordBatchDecode = (fetchDecoder) => shared.kafkajsDecode(fetchDecoder);
const { lookupCodecByAttributes } = requireKafkajs('kafkajs/src/protocol/message/compression/index.js') as {
  lookupCodecByAttributes: (attributes: number) => Codec | null;
};
const DecoderClass = requireKafkajs('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkajsDecoder;

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;

/** Thrown where the batch is not of the usual shape: kafkajs decodes it instead. */
const UNUSUAL = new Error('not a usual record batch');

/**
 * Reads the records of one batch from `buffer[start, end)`, or throws UNUSUAL.
 * A varint of at most 4 bytes is read the way kafkajs reads it (zigzag, no
 * overflow below 2^28); longer ones are left to kafkajs, whose 32-bit
 * arithmetic on them this does not copy.
 */
class RecordReader {
  /** Where the next read starts. */
  pos: number;
  constructor(
    private buffer: Buffer,
    start: number,
    private end: number,
  ) {
    this.pos = start;
  }

  /** Reads a record checked before: from `start`, within the whole buffer. */
  reset(buffer: Buffer, start: number): this {
    this.buffer = buffer;
    this.pos = start;
    this.end = buffer.length;
    return this;
  }

  varint(): number {
    const b = this.buffer;
    let p = this.pos;
    if (p >= this.end) throw UNUSUAL;
    let byte = b[p++] as number;
    let result = byte & 0x7f;
    if (byte >= 0x80) {
      if (p >= this.end) throw UNUSUAL;
      byte = b[p++] as number;
      result |= (byte & 0x7f) << 7;
      if (byte >= 0x80) {
        if (p >= this.end) throw UNUSUAL;
        byte = b[p++] as number;
        result |= (byte & 0x7f) << 14;
        if (byte >= 0x80) {
          if (p >= this.end) throw UNUSUAL;
          byte = b[p++] as number;
          if (byte >= 0x80) throw UNUSUAL;
          result |= byte << 21;
        }
      }
    }
    this.pos = p;
    return (result >>> 1) ^ -(result & 1);
  }

  int8(): number {
    if (this.pos >= this.end) throw UNUSUAL;
    return this.buffer.readInt8(this.pos++);
  }

  /** Bytes of a varint length: null for -1, as kafkajs's readVarIntBytes. */
  bytes(): Buffer | null {
    const start = this.span();
    return start < 0 ? null : this.buffer.subarray(start, this.pos);
  }

  /** Where the bytes of a varint length start (they end where the reader is then); -1 for null. */
  span(): number {
    const length = this.varint();
    if (length === -1) return -1;
    if (length < 0 || this.pos + length > this.end) throw UNUSUAL;
    const start = this.pos;
    this.pos += length;
    return start;
  }

  /** A record's varint length: what follows is read within it only. */
  enter(): number {
    const length = this.varint();
    if (length < 0 || this.pos + length > this.end) throw UNUSUAL;
    const outer = this.end;
    this.end = this.pos + length;
    return outer;
  }

  /** Past the record, whatever of it was left unread (kafkajs ignores that too). */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }
}

const NO_BYTES = Buffer.alloc(0);
/** recordSpans' reader (one thread, one record at a time). */
const respanReader = new RecordReader(NO_BYTES, 0, 0);

/** A 64-bit decimal as a number, when every sum with it below stays exact; else UNUSUAL. */
function safeBase(decimal: string): number {
  const value = Number(decimal);
  // A 4-byte zigzag varint gives a delta in [-2^27, 2^27): base ± 2^28 stays exact.
  if (!Number.isSafeInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER - 2 ** 28) throw UNUSUAL;
  return value;
}

/**
 * The headers of every record without any, shared: an object less per
 * record, which the coordinator allocates by the hundred thousand a second
 * (frozen, so that a consumer writing to it fails rather than writing to
 * every record's).
 */
const NO_HEADERS: Headers = Object.freeze({});

function readHeaders(reader: RecordReader): Headers {
  const count = reader.varint();
  if (count === -1 || count === 0) return NO_HEADERS;
  if (count < 0) throw UNUSUAL;
  const headers: Headers = {};
  for (let i = 0; i < count; i++) {
    const keyBytes = reader.bytes();
    const key = keyBytes === null ? 'null' : keyBytes.toString('utf8');
    // kafkajs builds the object with spreads, which make `__proto__` an own key; assignment would not.
    if (key === '__proto__') throw UNUSUAL;
    const value = reader.bytes();
    const existing = headers[key];
    headers[key] = existing === undefined ? value : Array.isArray(existing) ? existing.concat([value]) : [existing, value];
  }
  return headers;
}

function readRecords(buffer: Buffer, start: number, end: number, count: number, context: BatchContext): DecodedRecord[] {
  const firstOffset = safeBase(context.firstOffset);
  const logAppend = context.timestampType === LOG_APPEND_TIME && context.maxTimestamp;
  // kafkajs gives a log-append batch's max timestamp to each record, as the string it read.
  const firstTimestamp = logAppend ? 0 : safeBase(context.firstTimestamp);
  const appendedAt = logAppend ? safeBase(context.maxTimestamp) : 0;
  const times = new BatchTimes(context, firstTimestamp, appendedAt, Boolean(logAppend));
  const reader = new RecordReader(buffer, start, end);
  const records = new Array<DecodedRecord>(count);
  for (let i = 0; i < count; i++) {
    const outer = reader.enter();
    const at = reader.pos;
    reader.int8(); // attributes
    const timestampDelta = reader.varint();
    const offsetDelta = reader.varint();
    reader.span(); // key
    reader.span(); // value
    const headers = readHeaders(reader);
    reader.leave(outer);
    records[i] = new FetchedRecord(buffer, at, firstOffset + offsetDelta, timestampDelta, headers, times);
  }
  return records;
}

/** Batches decoded here, and batches handed to kafkajs's decoder. */
export const recordDecoderCounts = { usual: 0, handedToKafkajs: 0 };

/**
 * kafkajs's RecordBatch decoder, with the records read by readRecords. On
 * anything it does not expect it starts the batch again with kafkajs's
 * decoder, which then gives kafkajs's records or throws kafkajs's error (a
 * partial batch at the end of a fetch is one, and its caller expects it).
 */
export const decodeRecordBatch: RecordBatchDecode = async (fetchDecoder) => {
  const start = fetchDecoder.offset;
  try {
    const batch = await decodeUsualBatch(fetchDecoder);
    recordDecoderCounts.usual++;
    return batch;
  } catch {
    fetchDecoder.offset = start;
    recordDecoderCounts.handedToKafkajs++;
    return kafkajsDecode(fetchDecoder);
  }
};

async function decodeUsualBatch(fetchDecoder: KafkajsDecoder): ReturnType<RecordBatchDecode> {
  const firstOffset = fetchDecoder.readInt64().toString();
  const length = fetchDecoder.readInt32();
  if (length < 0 || fetchDecoder.buffer.length - fetchDecoder.offset < length) throw UNUSUAL;
  const decoder = fetchDecoder.slice(length);
  fetchDecoder.forward(length);
  const partitionLeaderEpoch = decoder.readInt32();
  const magicByte = decoder.readInt8();
  decoder.readInt32(); // CRC: kafkajs does not check it either
  const attributes = decoder.readInt16();
  const lastOffsetDelta = decoder.readInt32();
  const firstTimestamp = decoder.readInt64().toString();
  const maxTimestamp = decoder.readInt64().toString();
  const producerId = decoder.readInt64().toString();
  const producerEpoch = decoder.readInt16();
  const firstSequence = decoder.readInt32();
  const recordContext = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
  };
  const context: BatchContext = { ...recordContext, magicByte };
  const records = await decodeRecords(lookupCodecByAttributes(attributes), decoder, context);
  return { ...recordContext, records };
}

async function decodeRecords(codec: Codec | null, decoder: KafkajsDecoder, context: BatchContext): Promise<DecodedRecord[]> {
  const count = decoder.readInt32();
  if (codec === null) {
    if (count < 0) throw UNUSUAL;
    return readRecords(decoder.buffer, decoder.offset, decoder.buffer.length, count, context);
  }
  if (count <= 0) return [];
  const decompressed = await codec.decompress(decoder.readAll());
  return readRecords(decompressed, 0, decompressed.length, count, context);
}

export type RecordDecoderChoice = 'klaxon' | 'kafkajs';

const dispatch: RecordBatchDecode = (fetchDecoder) => (shared.choice === 'klaxon' ? decodeRecordBatch(fetchDecoder) : kafkajsDecode(fetchDecoder));

/**
 * Puts `dispatch` in the place of kafkajs's decoder for every kafkajs client
 * in this process, when this module loads (client.ts imports it, so before any
 * fetch). kafkajs loads its fetch decoding on the first fetch and binds the
 * decoder then; if that happened already, kafkajs's decoder stays: false.
 */
shared.installed ??= replaceKafkajsModule(DECODER_PATH, DECODE_MESSAGES_PATH, dispatch);

/**
 * Which decoder reads fetched record batches in this process (`kafkajs`: its
 * own, for every batch). Returns false if this decoder could not be put in
 * kafkajs's place (kafkajs had bound its own already), whatever the choice.
 */
export function useRecordDecoder(which: RecordDecoderChoice): boolean {
  shared.choice = which;
  return shared.installed === true;
}

/** For the tests and the bench: kafkajs's own decoder, its Decoder, and its encoders of record batches. */
export const kafkajsInternals = {
  decode: kafkajsDecode,
  Decoder: DecoderClass,
  RecordBatch: (
    requireKafkajs('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (batch: Record<string, unknown>) => Promise<{ buffer: Buffer }> }
  ).RecordBatch,
  Record: requireKafkajs('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: Record<string, unknown>) => unknown,
  Long: requireKafkajs('kafkajs/src/utils/long.js') as { fromValue(value: string | number): unknown },
};
