import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { SourceError } from '../../errors.js';
import { logger } from '../../log.js';
import type { PublishedVersion, RulesChannel } from '../../model/rules-channel.js';
import { createKafka, ensureTopic } from './client.js';
import { producerSettings } from './options.js';

const log = logger('rules-topic');
/** How long a start waits to read the rules topic to its end before it gives up (the broker is there: the source connected). */
const LOAD_TIMEOUT_MS = 60_000;

/**
 * A deployment's rules channel on Kafka (contract §7.5): a compacted topic of
 * rule set versions, one partition, keyed by version, so it keeps every
 * version for ever. Every engine process reads it from the beginning with a
 * consumer group of its own (no offsets are committed: each start reads it
 * all again) and keeps following it; fetches wait at most 200 ms, so a new
 * version reaches every process well within a second.
 */
export class KafkaRulesTopic implements RulesChannel {
  readonly name: string;
  readonly bootstrapsFromConfig = true;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private listener: ((record: unknown) => void) | undefined;
  /** Versions read after load() returned and before follow() was called. */
  private readonly early: unknown[] = [];

  private constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {
    this.name = `rules topic ${topic}`;
  }

  static async connect(brokers: string[], topic: string, clientId: string): Promise<KafkaRulesTopic> {
    const kafka = createKafka(brokers, `${clientId}-rules`);
    await ensureTopic(kafka, topic, 1, { 'cleanup.policy': 'compact' });
    return new KafkaRulesTopic(kafka, topic);
  }

  /** Reads the topic up to the end it had when called; what comes after goes to the follower. */
  async load(): Promise<unknown[]> {
    const admin = this.kafka.admin();
    let ends: Map<number, number>;
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(this.topic);
      ends = new Map(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
    } catch (error) {
      throw new SourceError(`cannot read the ${this.name}`, { cause: error, retriable: true });
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const loaded: unknown[] = [];
    let loading = ends.size > 0;
    let caughtUp = () => {};
    const reachedEnd = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    const consumer = this.kafka.consumer({
      groupId: `klaxon-rules-${randomUUID()}`,
      maxWaitTimeInMs: 200,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 50 },
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    } catch (error) {
      throw new SourceError(`cannot read the ${this.name}`, { cause: error, retriable: true });
    }
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const record = parseRecord(message.value, this.topic, message.offset);
        if (record !== undefined) {
          if (loading) loaded.push(record);
          else this.deliver(record);
        }
        // Compaction never removes a partition's last record, so the last offset before the end is always read.
        if (loading && Number(message.offset) >= (ends.get(partition) ?? 0) - 1) {
          ends.delete(partition);
          if (ends.size === 0) {
            loading = false;
            caughtUp();
          }
        }
      },
    });
    if (!loading) return loaded;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SourceError(`the ${this.name} was not read to its end within ${LOAD_TIMEOUT_MS / 1000} s`)), LOAD_TIMEOUT_MS);
    });
    try {
      await Promise.race([reachedEnd, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return loaded;
  }

  follow(listener: (record: unknown) => void): void {
    this.listener = listener;
    for (const record of this.early.splice(0)) listener(record);
  }

  async publish(versions: readonly PublishedVersion[]): Promise<void> {
    this.producer ??= this.kafka.producer(producerSettings());
    await this.producer.connect();
    const messages = versions.map((version) => ({ key: String(version.version), value: JSON.stringify(version) }));
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }

  async close(): Promise<void> {
    this.listener = undefined;
    const { consumer, producer } = this;
    this.consumer = undefined;
    this.producer = undefined;
    await Promise.all([consumer?.disconnect(), producer?.disconnect()]);
  }

  private deliver(record: unknown): void {
    if (this.listener === undefined) this.early.push(record);
    else this.listener(record);
  }
}

function parseRecord(value: Buffer | null, topic: string, offset: string): unknown {
  try {
    return JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    log.error({ topic, offset }, 'a record of the rules topic is not JSON: ignored');
    return undefined;
  }
}
