import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
// As the engine loads kafkajs: through Klaxon's client.
import { createKafka } from '../../../../src/io/kafka/client.js';
import { encodeRecord, kafkajsRecord, recordEncoderInstalled } from '../../../../src/io/kafka/record-encoder.js';

const requireKafkajs = createRequire(import.meta.url);
const { RecordBatch } = requireKafkajs('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (args: { records: unknown[]; compression?: number; firstTimestamp?: number; maxTimestamp?: number }) => Promise<{ buffer: Buffer }>;
};

const bytesValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  // Every UTF-16 unit, lone surrogates included: kafkajs writes those as U+FFFD, and so must this.
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)), maxLength: 4 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  // Lengths whose varint takes 3 bytes (8,192 and up).
  fc.integer({ min: 8_190, max: 8_194 }).map((length) => Buffer.alloc(length, 0x61)),
  fc.integer({ min: 8_190, max: 8_194 }).map((length) => 'é'.repeat(Math.ceil(length / 2))),
);
const delta = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: -(2 ** 30) - 2, max: -(2 ** 30) + 2 }),
  fc.integer({ min: 2 ** 30 - 2, max: 2 ** 30 + 2 }),
  fc.integer({ min: 0, max: 300 }),
  fc.constantFrom(2 ** 40, -(2 ** 40), 0.5),
);
const headers = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  fc.constant([]),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 })), {
    minKeys: 1,
    maxKeys: 3,
  }),
);
const record = fc.record({ offsetDelta: delta, timestampDelta: delta, key: bytesValue, value: bytesValue, headers }, { requiredKeys: [] });
/** Records kafkajs can encode (a batch's deltas are whole numbers). */
const encodable = fc.record(
  { timestampDelta: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), key: bytesValue, value: bytesValue, headers },
  { requiredKeys: [] },
);

/** Its bytes, as a record batch reads them. */
function bytesOf(encoded: { buf: Buffer; offset: number }): Buffer {
  return encoded.buf.subarray(0, encoded.offset);
}

/** The bytes, or the error kafkajs throws (for a fractional delta, say). */
function outcome(encode: typeof encodeRecord, fields: Parameters<typeof encodeRecord>[0]): { bytes: Buffer } | { error: string } {
  try {
    return { bytes: bytesOf(encode(fields)) };
  } catch (error) {
    return { error: String(error) };
  }
}

test("a record's bytes are kafkajs's, for any fields (the usual shape written here, any other left to kafkajs)", () => {
  fc.assert(
    fc.property(record, (fields) => {
      assert.deepEqual(outcome(encodeRecord, fields), outcome(kafkajsRecord, fields));
    }),
    { numRuns: 2000 },
  );
});

test("alerts' records of the usual shape are written here, not by kafkajs", () => {
  const value = Buffer.from('{"zone_id":"z-1","rule":"too-hot","status":"firing"}');
  const encoded = encodeRecord({ key: 'z-1', value, offsetDelta: 3, timestampDelta: 0 });
  const expected = kafkajsRecord({ key: 'z-1', value, offsetDelta: 3, timestampDelta: 0 });
  assert.deepEqual(bytesOf(encoded), bytesOf(expected));
  // kafkajs's starts with a 512-byte zero-filled buffer; this one is exactly the record.
  assert.equal(encoded.buf.length, encoded.offset);
  assert.notEqual(expected.buf.length, expected.offset);
});

test('record batches of these records are the bytes of record batches of kafkajs records, plain and compressed', async () => {
  const GZIP = 1;
  await fc.assert(
    fc.asyncProperty(fc.array(encodable, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, GZIP), async (fieldsList, compression) => {
      const batch = async (encode: typeof encodeRecord) =>
        (await RecordBatch({ records: fieldsList.map((fields, i) => encode({ ...fields, offsetDelta: i })), compression, firstTimestamp: 1, maxTimestamp: 2 }))
          .buffer;
      assert.deepEqual(await batch(encodeRecord), await batch(kafkajsRecord));
    }),
    { numRuns: 100 },
  );
});

test("it is in kafkajs's place once Klaxon's client has loaded kafkajs", () => {
  assert.ok(createKafka);
  assert.equal(recordEncoderInstalled, true);
  const recordModule = requireKafkajs.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  assert.equal(requireKafkajs(recordModule), encodeRecord);
});
