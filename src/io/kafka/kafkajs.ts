import type * as Kafkajs from 'kafkajs';
import { logger } from '../../log.js';
// First: they replace kafkajs modules that kafkajs binds as it loads (the record decoder when it first fetches).
import { fetchBatchInstalled } from './fetch-batch.js';
import { requireKafkajs } from './kafkajs-modules.js';
import { groupingInstalled } from './message-grouping.js';
import './record-batch-decoder.js';
import { recordEncoderInstalled } from './record-encoder.js';

/**
 * kafkajs as Klaxon's Kafka clients use it: loaded here, after the
 * replacements of its internals are in place (an `import ... from 'kafkajs'`
 * elsewhere in src could load it first; types may still come from 'kafkajs').
 */
const kafkajs = requireKafkajs('kafkajs') as typeof Kafkajs;

if (!groupingInstalled || !fetchBatchInstalled || !recordEncoderInstalled) {
  // Correct either way; only slower.
  logger('kafka').warn(
    'kafkajs was loaded before Klaxon\'s replacements of its message grouping, batches and record encoder: a value import of "kafkajs" runs before src/io/kafka/kafkajs.ts',
  );
}

export const Kafka: typeof Kafkajs.Kafka = kafkajs.Kafka;
export type Kafka = Kafkajs.Kafka;
export const logLevel: typeof Kafkajs.logLevel = kafkajs.logLevel;
export const Partitioners: typeof Kafkajs.Partitioners = kafkajs.Partitioners;
export const AssignerProtocol: typeof Kafkajs.AssignerProtocol = kafkajs.AssignerProtocol;
