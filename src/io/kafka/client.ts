import type { LogEntry } from 'kafkajs';
import { SourceError } from '../../errors.js';
import { logger } from '../../log.js';
import { Kafka, logLevel } from './kafkajs.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const log = logger('kafka');

/** A kafkajs client that retries patiently (a broker restart is not an error) and logs only warnings. */
export function createKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 20 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (entry.level > logLevel.WARN) return;
      const { message, ...rest } = entry.log;
      // Right after a transaction commits, the broker answers CONCURRENT_TRANSACTIONS until its markers are
      // written; the producer retries within milliseconds. Expected with frequent commits, so not logged
      // (kafkajs gives only the text here).
      if (`${message} ${rest.error ?? ''}`.includes('another concurrent operation on the same transaction')) return;
      log.warn({ namespace: entry.namespace, ...(rest.error ? { error: String(rest.error) } : {}) }, message);
    },
  });
}

/**
 * Creates the topic with `partitions` partitions (and the given topic
 * configs, such as `cleanup.policy`) if it does not exist; an existing topic
 * is left as it is. Says whether it created it, and the partition count the
 * broker reports (an existing topic keeps its own).
 */
export async function ensureTopic(
  kafka: Kafka,
  topic: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<{ created: boolean; partitions: number }> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }));
    const created =
      !existing.includes(topic) &&
      (await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: -1, configEntries }], waitForLeaders: true }));
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    return { created, partitions: metadata?.partitions.length ?? 0 };
  } catch (error) {
    throw new SourceError(`cannot reach Kafka to check topic ${topic}`, { cause: error, retriable: true });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Whether the topic exists, asked without creating it (an admin client never auto-creates). */
export async function topicExists(kafka: Kafka, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return (await admin.listTopics()).includes(topic);
  } catch (error) {
    throw new SourceError(`cannot reach Kafka to look for topic ${topic}`, { cause: error, retriable: true });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
