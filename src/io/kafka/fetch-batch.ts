import { replaceKafkajsModule, requireKafkajs } from './kafkajs-modules.js';
import { FetchedRecord } from './record-batch-decoder.js';

/**
 * kafkajs's Batch (one partition's records of a fetch), made without a
 * BigInt per record where it can be.
 *
 * kafkajs's constructor parses every record's offset string into a BigInt to
 * keep those at or past the fetched offset, then copies the array twice more
 * (aborted transactions, control records): on a 1M backlog that was ~115 MB
 * of the coordinator's ~520 MB of garbage (a sampling heap profile). When
 * every record comes from Klaxon's decoder (an exact offset as a number), the
 * fetched offset is a plain decimal below 2^53, and no transaction was
 * aborted nor any record is a control record, the same filtering is done on
 * numbers and an array kept whole is not copied. Anything else is kafkajs's
 * own constructor. Either way the object is a kafkajs Batch, with its
 * methods, fields and values; on the fast path its record arrays are one
 * array, not copies, so a batch's arrays must not be changed (neither
 * kafkajs nor Klaxon changes them).
 */

interface PartitionData {
  partition: number;
  highWatermark: string;
  messages: unknown[];
  abortedTransactions?: readonly unknown[] | null | undefined;
}
type BatchConstructor = new (topic: string, fetchedOffset: string, partitionData: PartitionData) => object;

const BATCH_PATH = requireKafkajs.resolve('kafkajs/src/consumer/batch.js');
const CONSUMER_GROUP_PATH = requireKafkajs.resolve('kafkajs/src/consumer/consumerGroup.js');

/** kafkajs's own Batch (the tests hold the replacement to it). */
export const KafkajsBatch = requireKafkajs(BATCH_PATH) as BatchConstructor;

/** A decimal kafkajs's Long would read as the same number, exactly. */
const PLAIN_OFFSET = /^(0|[1-9]\d{0,14})$/;

/** Called with `new` by kafkajs: returns a kafkajs Batch either way. */
export function FetchBatch(topic: string, fetchedOffset: string, partitionData: PartitionData): object {
  const { messages, abortedTransactions } = partitionData;
  if (typeof fetchedOffset !== 'string' || !PLAIN_OFFSET.test(fetchedOffset) || (abortedTransactions?.length ?? 0) > 0) {
    return new KafkajsBatch(topic, fetchedOffset, partitionData);
  }
  const from = Number(fetchedOffset);
  let first = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (!(message instanceof FetchedRecord) || message.isControlRecord) return new KafkajsBatch(topic, fetchedOffset, partitionData);
    // Offsets rise within a fetch; kafkajs's filter keeps any at or past `from`, wherever they are.
    if (message.offsetNumber < from) {
      if (first !== i) return new KafkajsBatch(topic, fetchedOffset, partitionData);
      first = i + 1;
    }
  }
  const within = first === 0 ? messages : messages.slice(first);
  return Object.assign(Object.create(KafkajsBatch.prototype) as object, {
    fetchedOffset,
    topic,
    partition: partitionData.partition,
    highWatermark: partitionData.highWatermark,
    rawMessages: messages,
    messagesWithinOffset: within,
    messages: within,
  });
}

/** Whether kafkajs's consumers in this process make their batches here (kafkajs.ts loads kafkajs after this). */
export const fetchBatchInstalled = replaceKafkajsModule(BATCH_PATH, CONSUMER_GROUP_PATH, FetchBatch);
