import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
// As the engine loads kafkajs: through Klaxon's client.
import { createKafka } from '../../../../src/io/kafka/client.js';
import { groupingInstalled, groupMessagesPerPartition, kafkajsGroupMessages } from '../../../../src/io/kafka/message-grouping.js';

test('messages grouped per partition as kafkajs groups them: same partitions, same order, the partitioner asked the same way', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ key: fc.string({ maxLength: 4 }), partition: fc.integer({ min: -1, max: 7 }) }), { maxLength: 200 }),
      fc.integer({ min: 0, max: 8 }),
      (messages, partitions) => {
        const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId }));
        const run = (group: typeof kafkajsGroupMessages) => {
          const asked: unknown[] = [];
          const grouped = group({
            topic: 't',
            partitionMetadata,
            messages,
            partitioner: ({ message }) => {
              asked.push(message);
              return (message as { partition: number }).partition;
            },
          });
          return { grouped, asked };
        };
        assert.deepEqual(run(groupMessagesPerPartition), run(kafkajsGroupMessages));
      },
    ),
    { numRuns: 300 },
  );
});

test("it is in kafkajs's place once Klaxon's client has loaded kafkajs", () => {
  assert.ok(createKafka);
  assert.equal(groupingInstalled, true);
  const groupingModule = createRequire(import.meta.url).resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
  assert.equal(createRequire(import.meta.url)(groupingModule), groupMessagesPerPartition);
});
