import type { Message, Producer, Transaction } from 'kafkajs';
import pRetry from 'p-retry';
import { SinkError } from '../../errors.js';
import { BufferedSink } from '../buffered-sink.js';
import type { OutRecord } from '../types.js';
import { createKafka, ensureTopic } from './client.js';
import { transactionalSettings } from './options.js';

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** The next offset to consume. */
  offset: string;
}

/**
 * One transactional producer for everything the engine writes in
 * exactly-once mode: alerts and dead letters go into the open transaction,
 * which commits together with the consumer offsets they come from. A crash
 * before commit aborts it, so read_committed readers never see those alerts;
 * the restart produces them again in a new transaction.
 * The transactional id is stable per engine instance: a restarted instance
 * fences its predecessor and aborts whatever it left open.
 */
export class KafkaTransactions {
  private open: Transaction | undefined;
  /** The one begin in progress: both sinks may ask for the transaction at once. */
  private opening: Promise<Transaction> | undefined;

  private constructor(private readonly producer: Producer) {}

  static async connect(brokers: string[], transactionalId: string, topics: Array<{ topic: string; partitions: number }>): Promise<KafkaTransactions> {
    const kafka = createKafka(brokers, `${transactionalId}-producer`);
    for (const { topic, partitions } of topics) await ensureTopic(kafka, topic, partitions);
    const producer = kafka.producer(transactionalSettings(transactionalId));
    try {
      await producer.connect();
    } catch (error) {
      throw new SinkError(`cannot start the transactional producer ${transactionalId}`, { cause: error, retriable: true });
    }
    return new KafkaTransactions(producer);
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    const transaction = await this.current();
    await whileConcurrent(() => transaction.send({ topic, messages, acks: -1 }));
  }

  /** Commits what was sent, with the offsets it covers, as one transaction. */
  async commit(consumerGroupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0 && this.open === undefined) return;
    const transaction = await this.current();
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
    for (const { topic, partition, offset } of offsets) {
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset }]);
    }
    if (byTopic.size > 0) {
      const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
      await whileConcurrent(() => transaction.sendOffsets({ consumerGroupId, topics }));
    }
    await whileConcurrent(() => transaction.commit());
    this.open = undefined;
  }

  async close(): Promise<void> {
    if (this.open !== undefined) await this.open.abort().catch(() => {});
    await this.producer.disconnect();
  }

  private current(): Promise<Transaction> {
    if (this.open !== undefined) return Promise.resolve(this.open);
    this.opening ??= this.begin().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async begin(): Promise<Transaction> {
    this.open = await whileConcurrent(() => this.producer.transaction());
    return this.open;
  }
}

/** A sink whose records go into the shared open transaction (exactly-once mode). */
export class TransactionalSink extends BufferedSink {
  protected readonly name: string;

  constructor(
    private readonly transactions: KafkaTransactions,
    private readonly topic: string,
  ) {
    super({ chunkBytes: 512 << 10, highWaterBytes: 16 << 20 });
    this.name = `Kafka topic ${topic} (transactional)`;
  }

  protected deliver(records: OutRecord[]): Promise<void> {
    return this.transactions.send(
      this.topic,
      records.map((r) => ({ key: r.key === '' ? null : r.key, value: r.value })),
    );
  }

  // The shared producer is closed by its owner, once.
  protected async release(): Promise<void> {}
}

/**
 * Runs a transactional request again while the broker answers
 * CONCURRENT_TRANSACTIONS: right after a commit it is still writing the last
 * transaction's markers. The broker refused without effect, so a retry is
 * safe; kafkajs does not retry it (measured: with 200 ms commits the engine
 * stopped on AddOffsetsToTxn).
 */
async function whileConcurrent<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await pRetry(request, { retries: 100, minTimeout: 20, factor: 1.2, maxTimeout: 500, shouldRetry: ({ error }) => isConcurrent(error) });
  } catch (error) {
    throw new SinkError('a Kafka transaction request failed', { cause: error, retriable: isConcurrent(error) });
  }
}

function isConcurrent(error: unknown): boolean {
  return (error as { type?: string }).type === 'CONCURRENT_TRANSACTIONS';
}
