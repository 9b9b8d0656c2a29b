import type { Producer } from 'kafkajs';
import type { KafkaSinkConfig } from '../../config/types.js';
import { SinkError } from '../../errors.js';
import { BufferedSink } from '../buffered-sink.js';
import type { OutRecord } from '../types.js';
import { createKafka, ensureTopic } from './client.js';

const DELIVERY_TIMEOUT_MS = 120_000;

/**
 * Alerts (keyed by zone_id) or dead letters to a topic, through an idempotent
 * producer with acks from all replicas. Records are sent in order, in chunks,
 * at most `linger` after they were written. A failed send is retried (a broker
 * restart is survivable) for up to two minutes; meanwhile ready() holds the
 * engine back, and nothing is committed past unsent alerts.
 */
export class KafkaSink extends BufferedSink {
  protected readonly name: string;

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    lingerMs: number,
  ) {
    super({ lingerMs: Math.max(1, lingerMs), chunkBytes: 512 << 10, highWaterBytes: 16 << 20 });
    this.name = `Kafka topic ${topic}`;
  }

  static async connect(config: KafkaSinkConfig, role: 'alerts' | 'dead-letters'): Promise<KafkaSink> {
    const kafka = createKafka(config.brokers, `${config.clientId}-${role}`);
    await ensureTopic(kafka, config.topic, config.partitions);
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // An idempotent producer keeps retrying: a broker outage is backpressure, not loss.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      throw new SinkError(`cannot connect a producer for ${config.topic}`, { cause: error, retriable: true });
    }
    return new KafkaSink(producer, config.topic, config.lingerMs);
  }

  protected async deliver(records: OutRecord[]): Promise<void> {
    const messages = records.map((r) => ({ key: r.key === '' ? null : r.key, value: r.value }));
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        process.stderr.write(`klaxon: sending to ${this.topic} failed (attempt ${attempt}), retrying: ${(error as Error).message}\n`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
      }
    }
  }

  protected release(): Promise<void> {
    return this.producer.disconnect();
  }
}
