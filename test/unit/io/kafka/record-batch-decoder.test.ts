import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { packFetched } from '../../../../src/io/kafka/fetched-batches.js';
import {
  type DecodedRecord,
  decodeRecordBatch,
  type KafkajsDecoder,
  kafkajsInternals,
  type RecordBatchDecode,
  recordDecoderCounts,
  recordFields,
  useRecordDecoder,
} from '../../../../src/io/kafka/record-batch-decoder.js';
import { packedKey, packedValue } from '../../../../src/io/packed-records.js';

const require = createRequire(import.meta.url);
const { RecordBatch, Record, Long } = kafkajsInternals;
const GZIP = 1;
/** Where the low byte of a batch's attributes sits: firstOffset 8, length 4, epoch 4, magic 1, CRC 4, then int16. */
const ATTRIBUTES_LOW_BYTE = 22;
const LOG_APPEND_TIME_FLAG = 0x8;
const CONTROL_FLAG = 0x20;
/** decodeMessages stops when fewer bytes than a batch's overhead are left. */
const RECORD_BATCH_OVERHEAD = 49;

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((array) => Buffer.from(array));
// kafkajs's encoder cannot write a null header value; the damaged-bytes property reaches such records.
const headerValue = bytes(20);
const headers = fc.dictionary(
  fc.constantFrom('a', 'b', 'trace', 'null', '__proto__', 'constructor', '1', 'é'),
  fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 })),
  {
    maxKeys: 3,
  },
);
/** Deltas mostly as a producer writes them, sometimes past what a 4-byte varint holds. */
const delta = (usual: fc.Arbitrary<number>, max = 2 ** 31 - 1) =>
  fc.oneof({ weight: 40, arbitrary: usual }, { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max }) });
/** Records in a generated batch, at most. */
const MAX_RECORDS = 12;
const record = fc.record({
  timestampDelta: delta(fc.integer({ min: -1_000, max: 600_000 })),
  key: fc.option(bytes(40), { freq: 3 }),
  value: fc.option(bytes(300), { freq: 10 }),
  headers: fc.option(headers, { freq: 2 }),
  // Records after a jump count on from it: a jump leaves them room below 2^31 (kafkajs's encoder writes the last delta as int32).
  offsetDeltaJump: delta(fc.constant(1), 2 ** 31 - 1 - MAX_RECORDS),
});
const batch = fc.record({
  firstOffset: fc.oneof(
    { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 9n }) },
    fc.bigInt({ min: 2n ** 53n - 2n ** 29n, max: 2n ** 53n + 10n }),
    fc.bigInt({ min: 0n, max: 2n ** 62n }),
  ),
  firstTimestamp: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }) },
    fc.constant(-1),
    fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map(String),
  ),
  records: fc.array(record, { maxLength: MAX_RECORDS }),
  gzip: fc.boolean(),
  transactional: fc.boolean(),
  logAppendTime: fc.boolean(),
  control: fc.boolean(),
});

/** kafkajs's Encoder: what the byte-by-byte records use. */
interface RawEncoder {
  buffer: Buffer;
  writeInt8(value: number): RawEncoder;
  writeVarInt(value: number): RawEncoder;
  writeVarLong(value: unknown): RawEncoder;
  writeVarIntBytes(value: Buffer | null): RawEncoder;
  writeEncoder(value: RawEncoder): RawEncoder;
}

type BatchSpec = typeof batch extends fc.Arbitrary<infer T> ? T : never;

async function encode(spec: BatchSpec): Promise<Buffer> {
  let offsetDelta = -1;
  const records = spec.records.map((r) => {
    offsetDelta = r.offsetDeltaJump === 1 ? offsetDelta + 1 : r.offsetDeltaJump;
    return Record({ offsetDelta, timestampDelta: Long.fromValue(r.timestampDelta), key: r.key, value: r.value, headers: r.headers ?? {} });
  });
  const encoded = await RecordBatch({
    compression: spec.gzip ? GZIP : 0,
    firstOffset: Long.fromValue(spec.firstOffset.toString()),
    firstTimestamp: Long.fromValue(spec.firstTimestamp),
    maxTimestamp: Long.fromValue(1_700_000_000_000),
    lastOffsetDelta: Math.max(0, offsetDelta),
    transactional: spec.transactional,
    records,
  });
  const buffer = Buffer.from(encoded.buffer);
  // The CRC is not checked by either decoder, so flags can be set after encoding.
  buffer[ATTRIBUTES_LOW_BYTE] = (buffer[ATTRIBUTES_LOW_BYTE] as number) | (spec.logAppendTime ? LOG_APPEND_TIME_FLAG : 0) | (spec.control ? CONTROL_FLAG : 0);
  return buffer;
}

/** A plain batch (no compression, no flags) of one record at `firstOffset`, written at 1,700,000,000,000 ms. */
function oneRecord(firstOffset: bigint, record: { timestampDelta: number; value: Buffer<ArrayBuffer> | null }): Promise<Buffer> {
  return encode({
    firstOffset,
    firstTimestamp: 1_700_000_000_000,
    records: [{ ...record, key: null, headers: null, offsetDeltaJump: 1 }],
    gzip: false,
    transactional: false,
    logAppendTime: false,
    control: false,
  });
}

/** decodeMessages' loop over a partition's record batches, with the given batch decoder. */
async function decodeAll(buffer: Buffer, decode: RecordBatchDecode): Promise<{ batches: unknown[]; end: number; error?: string }> {
  const decoder = new kafkajsInternals.Decoder(Buffer.from(buffer)) as KafkajsDecoder & { canReadBytes(n: number): boolean };
  const batches: unknown[] = [];
  try {
    // Klaxon's records make key, value and timestamp when asked: compared as kafkajs's plain fields.
    while (decoder.canReadBytes(RECORD_BATCH_OVERHEAD)) {
      const { records, ...batch } = await decode(decoder);
      batches.push({ ...batch, records: records.map(recordFields) });
    }
  } catch (error) {
    return { batches, end: decoder.offset, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  return { batches, end: decoder.offset };
}

async function sameAsKafkajs(buffer: Buffer): Promise<void> {
  const ours = await decodeAll(buffer, decodeRecordBatch);
  const theirs = await decodeAll(buffer, kafkajsInternals.decode);
  assert.deepEqual(ours, theirs);
}

/** What the Kafka source hands the engine from these records (values, keys, offsets, times), as plain data. */
function packedFields(records: readonly DecodedRecord[]): unknown {
  const { packed, offsets, timestamps } = packFetched(records as unknown as KafkaMessage[], 0, records.length);
  return {
    values: records.map((_, i) => packedValue(packed, i).toString('hex')),
    keys: records.map((_, i) => packedKey(packed, i)?.toString('hex') ?? null),
    offsets,
    timestamps: [...timestamps],
  };
}

describe('decodeRecordBatch against kafkajs', () => {
  test('the same batches, records and end position for batches as producers write them, and for unusual ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 3 }), async (specs) => {
        await sameAsKafkajs(Buffer.concat(await Promise.all(specs.map(encode))));
      }),
      { numRuns: 300 },
    );
  });

  test("packed for the engine, its records give the same values, keys, offsets and times as kafkajs's", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 3 }), async (specs) => {
        const buffer = Buffer.concat(await Promise.all(specs.map(encode)));
        const records = async (decode: RecordBatchDecode) => {
          const decoder = new kafkajsInternals.Decoder(Buffer.from(buffer)) as KafkajsDecoder & { canReadBytes(n: number): boolean };
          const all: DecodedRecord[] = [];
          while (decoder.canReadBytes(RECORD_BATCH_OVERHEAD)) all.push(...(await decode(decoder)).records);
          return all;
        };
        const ours = await records(decodeRecordBatch);
        assert.deepEqual(packedFields(ours), packedFields(await records(kafkajsInternals.decode)));
      }),
      { numRuns: 200 },
    );
  });

  test('the same when the fetch ends inside a batch (kafkajs throws its partial-message error) or bytes are damaged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { minLength: 1, maxLength: 2 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        async (specs, cutAt, damage) => {
          const whole = Buffer.concat(await Promise.all(specs.map(encode)));
          await sameAsKafkajs(whole.subarray(0, Math.floor(whole.length * cutAt)));
          const damaged = Buffer.from(whole);
          for (const [at, byte] of damage) damaged[Math.floor(at * (damaged.length - 1))] = byte;
          await sameAsKafkajs(damaged);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the same for records written byte by byte: headers repeated apart, null keys and values, bad UTF-8, 4-byte deltas', async () => {
    const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => RawEncoder;
    const headerKey = fc.constantFrom<Buffer | null>(
      Buffer.from('a'),
      Buffer.from('b'),
      Buffer.from('constructor'),
      Buffer.from('null'),
      Buffer.from([0xff]),
      Buffer.from([0xc3]),
      null,
    );
    const rawRecord = fc.record({
      offsetDelta: fc.integer({ min: -(2 ** 27), max: 2 ** 27 - 1 }),
      timestampDelta: fc.integer({ min: -(2 ** 27), max: 2 ** 27 - 1 }),
      headers: fc.array(fc.tuple(headerKey, fc.option(bytes(8))), { maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(rawRecord, { minLength: 1, maxLength: 5 }), fc.boolean(), async (specs, gzip) => {
        const records = specs.map(({ offsetDelta, timestampDelta, headers }) => {
          const body = new Encoder()
            .writeInt8(0)
            .writeVarLong(Long.fromValue(timestampDelta))
            .writeVarInt(offsetDelta)
            .writeVarIntBytes(null)
            .writeVarIntBytes(Buffer.from('{"zone_id":"z"}'))
            .writeVarInt(headers.length);
          for (const [key, value] of headers) body.writeVarIntBytes(key).writeVarIntBytes(value);
          return new Encoder().writeVarInt(body.buffer.length).writeEncoder(body);
        });
        const encoded = await RecordBatch({
          compression: gzip ? GZIP : 0,
          firstOffset: Long.fromValue('1000000000'),
          firstTimestamp: Long.fromValue(1_700_000_000_000),
          maxTimestamp: Long.fromValue(1_700_000_000_000),
          records,
        });
        await sameAsKafkajs(Buffer.from(encoded.buffer));
      }),
      { numRuns: 300 },
    );
  });

  test("as objects: JSON gives kafkajs's fields, and a field written keeps what was written", async () => {
    const buffer = await oneRecord(7n, { timestampDelta: 3, value: Buffer.from('{"zone_id":"z"}') });
    const [ours] = (await decodeRecordBatch(new kafkajsInternals.Decoder(Buffer.from(buffer)))).records as DecodedRecord[];
    const [theirs] = (await kafkajsInternals.decode(new kafkajsInternals.Decoder(Buffer.from(buffer)))).records as DecodedRecord[];
    assert.equal(JSON.stringify(ours), JSON.stringify(theirs));
    const record = ours as unknown as {
      value: Buffer | null;
      key: Buffer | null;
      timestamp: string;
      offset: string;
      attributes: number;
      batchContext: unknown;
    };
    record.value = Buffer.from('rewritten');
    record.key = null;
    record.timestamp = '1';
    record.offset = '2';
    record.attributes = 5;
    record.batchContext = { mine: true };
    assert.deepEqual(
      [String(record.value), record.key, record.timestamp, record.offset, record.attributes, record.batchContext],
      ['rewritten', null, '1', '2', 5, { mine: true }],
    );
  });

  test('the usual batch is read without kafkajs; one with a 5-byte varint is handed to it', async () => {
    const usual = await oneRecord(42n, { timestampDelta: 5, value: Buffer.from('{"zone_id":"z"}') });
    const before = { ...recordDecoderCounts };
    const [decoded] = (await decodeAll(usual, decodeRecordBatch)).batches as Array<{ records: Array<{ offset: string; timestamp: string; value: Buffer }> }>;
    assert.deepEqual(
      decoded?.records.map((r) => [r.offset, r.timestamp, r.value.toString()]),
      [['42', '1700000000005', '{"zone_id":"z"}']],
    );
    assert.deepEqual(recordDecoderCounts, { usual: before.usual + 1, handedToKafkajs: before.handedToKafkajs });
    const unusual = await oneRecord(42n, { timestampDelta: 2 ** 30, value: null });
    await sameAsKafkajs(unusual);
    assert.equal(recordDecoderCounts.handedToKafkajs, before.handedToKafkajs + 1);
  });
});

describe('useRecordDecoder', () => {
  test('takes kafkajs’s place before its fetch decoding loads, and the choice switches between the two', async () => {
    assert.equal(useRecordDecoder('klaxon'), true, 'kafkajs’s fetch decoding was not loaded yet in this process');
    const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (decoder: KafkajsDecoder) => Promise<unknown[]>;
    const usual = await oneRecord(7n, { timestampDelta: 0, value: Buffer.from('x') });
    const partition = Buffer.concat([Buffer.alloc(4), usual]);
    partition.writeInt32BE(usual.length, 0);
    const before = recordDecoderCounts.usual;
    assert.equal((await decodeMessages(new kafkajsInternals.Decoder(partition))).length, 1);
    assert.equal(recordDecoderCounts.usual, before + 1, 'kafkajs’s fetch decoding called ours');
    useRecordDecoder('kafkajs');
    assert.equal((await decodeMessages(new kafkajsInternals.Decoder(partition))).length, 1);
    assert.equal(recordDecoderCounts.usual, before + 1, 'kafkajs chosen: ours not called');
    useRecordDecoder('klaxon');
  });
});
