import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createKafka } from '../../../../src/io/kafka/client.js';
import { FetchBatch, fetchBatchInstalled, KafkajsBatch } from '../../../../src/io/kafka/fetch-batch.js';
import { requireKafkajs } from '../../../../src/io/kafka/kafkajs-modules.js';
import { BatchTimes, FetchedRecord } from '../../../../src/io/kafka/record-batch-decoder.js';

type Batch = Record<string, unknown> & Record<string, () => unknown>;
const METHODS = [
  'isEmpty',
  'isEmptyIncludingFiltered',
  'isEmptyDueToFiltering',
  'isEmptyControlRecord',
  'isEmptyDueToLogCompactedMessages',
  'firstOffset',
  'lastOffset',
  'offsetLag',
  'offsetLagLow',
] as const;

/** What a caller can see of a batch: its fields, their contents, and every method's answer. */
function observed(batch: Batch): unknown {
  const fields = Object.fromEntries(Object.entries(batch).map(([name, value]) => [name, Array.isArray(value) ? [...value] : value]));
  return { prototype: Object.getPrototypeOf(batch), fields, answers: METHODS.map((method) => batch[method]?.()) };
}

const context = (control: boolean) => ({
  firstOffset: '0',
  firstTimestamp: '0',
  partitionLeaderEpoch: 0,
  inTransaction: control,
  isControlBatch: control,
  lastOffsetDelta: 0,
  producerId: '-1',
  producerEpoch: 0,
  firstSequence: 0,
  maxTimestamp: '0',
  timestampType: 0,
  magicByte: 2,
});
const source = Buffer.from('kv');

test("batches as kafkajs's Batch makes them: fields, records kept and every method's answer", () => {
  let fast = 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          gap: fc.integer({ min: 0, max: 3 }),
          fromKafkajs: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, fc.constant(true)),
          control: fc.oneof({ weight: 40, arbitrary: fc.constant(false) }, fc.constant(true)),
        }),
        {
          maxLength: 12,
        },
      ),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.oneof(fc.integer({ min: -3, max: 40 }).map(String), fc.constantFrom('007', 'NaN', '', '9007199254740993')),
      fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant([]), fc.constant([{ producerId: '-1', firstOffset: '3' }])),
      fc.boolean(),
      (specs, base, fetched, abortedTransactions, descending) => {
        let offset = base;
        const messages = specs.map(({ gap, fromKafkajs, control }) => {
          offset += descending ? -gap : gap;
          if (fromKafkajs) return { offset: String(offset), key: null, value: source, isControlRecord: control, batchContext: context(control) };
          return new FetchedRecord(source, 0, offset, 0, {}, new BatchTimes(context(control), 0, 0, false));
        });
        const fetchedOffset = /^-?\d+$/.test(fetched) && Number(fetched) >= 0 && fetched.length < 4 ? String(base + Number(fetched)) : fetched;
        const partitionData = { partition: 3, highWatermark: String(offset + 5), messages, abortedTransactions };
        const made = (Made: typeof KafkajsBatch) => {
          try {
            const batch = new Made('t', fetchedOffset, partitionData) as Batch;
            // Only the fast path keeps one array for both (kafkajs's filters always copy).
            if (Made === (FetchBatch as unknown) && batch.messages === batch.messagesWithinOffset) fast++;
            return observed(batch);
          } catch (error) {
            // kafkajs throws on some offsets (an empty string): the same error either way.
            return { threw: String(error) };
          }
        };
        assert.deepEqual(made(FetchBatch as unknown as typeof KafkajsBatch), made(KafkajsBatch));
      },
    ),
    { numRuns: 500 },
  );
  assert.ok(fast > 100, `the fast path ran ${fast} times of 500`);
});

test("it is in kafkajs's place once Klaxon's client has loaded kafkajs", () => {
  assert.ok(createKafka);
  assert.equal(fetchBatchInstalled, true);
  assert.equal(requireKafkajs(requireKafkajs.resolve('kafkajs/src/consumer/batch.js')), FetchBatch);
});
