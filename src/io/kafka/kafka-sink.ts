import type { Producer } from 'kafkajs';
import pRetry from 'p-retry';
import type { KafkaSinkConfig } from '../../config/types.js';
import { SinkError } from '../../errors.js';
import { BufferedSink } from '../buffered-sink.js';
import type { OutRecord, SinkRole } from '../types.js';
import { createKafka, ensureTopic } from './client.js';
import { producerSettings } from './options.js';
import { kafkaOutage } from './outage.js';

/**
 * Alerts (keyed by zone_id) or dead letters to a topic, through an idempotent
 * producer with acks from all replicas. Records are sent in order, one send
 * at a time: at once (or after `linger`) when none is out, else together in
 * the next as soon as it is back (BufferedSink). A failed send is retried for as
 * long as the broker is away; meanwhile ready() holds the engine back, and
 * nothing is committed past unsent alerts.
 */
export class KafkaSink extends BufferedSink {
  protected readonly name: string;

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    lingerMs: number,
  ) {
    super({ lingerMs, chunkBytes: 512 << 10, highWaterBytes: 16 << 20 });
    this.name = `Kafka topic ${topic}`;
  }

  static async connect(config: KafkaSinkConfig, role: SinkRole): Promise<KafkaSink> {
    const kafka = createKafka(config.brokers, `${config.clientId}-${role}`);
    await ensureTopic(kafka, config.topic, config.partitions);
    const producer = kafka.producer(producerSettings());
    try {
      await producer.connect();
    } catch (error) {
      throw new SinkError(`cannot connect a producer for ${config.topic}`, { cause: error, retriable: true });
    }
    return new KafkaSink(producer, config.topic, config.lingerMs);
  }

  protected async deliver(records: OutRecord[]): Promise<void> {
    const messages = records.map((r) => ({ key: r.key === '' ? null : r.key, value: r.value }));
    // The producer retries by itself too; this outer loop outlasts a broker that is away for minutes.
    await pRetry(() => this.producer.send({ topic: this.topic, acks: -1, messages }), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 200,
      maxTimeout: 5_000,
      // A broker that refuses the records themselves refuses them again: stop, saying why, rather than wait for ever.
      shouldRetry: ({ error }) => !refusedForGood(error),
      onFailedAttempt: ({ error }) => {
        if (!refusedForGood(error)) kafkaOutage.failing(error, `sending to ${this.topic}`);
      },
    });
    kafkaOutage.answering();
  }

  protected release(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Errors about the records, not the broker's reach: a record over the topic's size limit, or one it cannot take. */
const REFUSED_RECORDS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

function refusedForGood(error: unknown): boolean {
  return REFUSED_RECORDS.has((error as { type?: string }).type ?? '');
}
