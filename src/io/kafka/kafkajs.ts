import { createRequire } from 'node:module';
import type * as Kafkajs from 'kafkajs';
import { logger } from '../../log.js';
// First: it replaces a kafkajs module that kafkajs binds as it loads (message-grouping.ts).
import { groupingInstalled } from './message-grouping.js';

/**
 * kafkajs as Klaxon's Kafka clients use it: loaded here, after the
 * replacements of its internals are in place (an `import ... from 'kafkajs'`
 * elsewhere in src could load it first; types may still come from 'kafkajs').
 */
const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof Kafkajs;

if (!groupingInstalled) {
  // Correct either way; only slower with many messages per send.
  logger('kafka').warn(
    'kafkajs was loaded before Klaxon\'s replacement of its message grouping: a value import of "kafkajs" runs before src/io/kafka/kafkajs.ts',
  );
}

export const Kafka: typeof Kafkajs.Kafka = kafkajs.Kafka;
export type Kafka = Kafkajs.Kafka;
export const logLevel: typeof Kafkajs.logLevel = kafkajs.logLevel;
export const Partitioners: typeof Kafkajs.Partitioners = kafkajs.Partitioners;
export const AssignerProtocol: typeof Kafkajs.AssignerProtocol = kafkajs.AssignerProtocol;
