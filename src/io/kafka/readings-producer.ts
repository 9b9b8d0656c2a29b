import type { Producer } from 'kafkajs';
import { SinkError } from '../../errors.js';
import { zoneIdRange } from '../../sharding/route-hint.js';
import { createKafka, ensureTopic } from './client.js';
import { producerSettings } from './options.js';

export interface ProducedRecord {
  value: Buffer;
  /** Extra headers (tests tag records with their line number). */
  headers?: Record<string, string>;
}

/**
 * Writes readings to a topic keyed by zone_id, the way Klaxon wants them
 * (one zone, one partition, in order). Lines whose zone_id cannot be found
 * go without a key: Klaxon still routes them by the parsed zone_id.
 */
export class ReadingsProducer {
  private constructor(
    private readonly producer: Producer,
    readonly topic: string,
  ) {}

  static async connect(brokers: string[], topic: string, partitions: number): Promise<ReadingsProducer> {
    const kafka = createKafka(brokers, 'klaxon-producer');
    await ensureTopic(kafka, topic, partitions);
    const producer = kafka.producer(producerSettings());
    await producer.connect();
    return new ReadingsProducer(producer, topic);
  }

  async send(records: readonly ProducedRecord[]): Promise<void> {
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: records.map((r) => ({ key: zoneKey(r.value), value: r.value, ...(r.headers ? { headers: r.headers } : {}) })),
      });
    } catch (error) {
      throw new SinkError(`cannot produce to ${this.topic}`, { cause: error, retriable: true });
    }
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** The zone_id of a reading line, as a key; null when it is not plainly there. */
export function zoneKey(value: Buffer): Buffer | null {
  const range = zoneIdRange(value);
  if (range) return value.subarray(range[0], range[1]);
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { zone_id?: unknown } | null;
    return typeof parsed?.zone_id === 'string' ? Buffer.from(parsed.zone_id) : null;
  } catch {
    return null;
  }
}
