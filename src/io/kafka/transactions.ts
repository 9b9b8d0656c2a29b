import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import pRetry from 'p-retry';
import { SinkError } from '../../errors.js';
import { logger } from '../../log.js';
import { OrderedDelivery } from '../ordered-delivery.js';
import type { BatchOutputs, OutRecord } from '../types.js';
import { createKafka, ensureTopic } from './client.js';
import { transactionalSettings } from './options.js';

const log = logger('transactions');

/** A send into a partition's transaction carries at most this much; this much buffered starts one without waiting for `lingerMs`. */
const CHUNK_BYTES = 512 << 10;
/** ready() waits while more than this is buffered or being sent, over all partitions. */
const HIGH_WATER_BYTES = 16 << 20;

export interface TransactionsConfig {
  brokers: string[];
  /** The consumer group whose offsets the transactions commit. */
  groupId: string;
  /** The topic those offsets are of. */
  sourceTopic: string;
  alerts: { topic: string; partitions: number };
  deadLetters: { topic: string; partitions: number };
  /** Where shadow rules' alerts go, if anywhere. */
  shadow?: { topic: string; partitions: number } | undefined;
  transactionTimeoutMs: number;
  /**
   * How long outputs wait for company when no send into their open
   * transaction is out (the alerts sink's linger; while one is out they go in
   * the next). Sent as they come, not all at commit: a commit is then
   * only the offsets and the end of the transaction, and outputs finished
   * while it runs wait that much less.
   */
  lingerMs: number;
}

/**
 * Exactly-once output with one transactional producer per source partition
 * (transactional id `<group>.<topic>.<partition>`), the way Kafka Streams
 * fenced zombies before KIP-447. Whoever owns a partition holds its id: the
 * new owner's InitProducerId fences the old one (whose later sends and
 * commits then fail) and completes or aborts the transaction it left open.
 * Reading the committed offset only after that makes a handover exact
 * whatever the timing of the rebalance; kafkajs sends TxnOffsetCommit without
 * the group generation, so the group alone cannot fence a zombie's offsets.
 *
 * Each partition's alerts and dead letters go into its open transaction,
 * which commits together with the partition's consumer offset. A commit that
 * fails for any reason (fenced, timed out by the broker, the broker gone
 * mid-commit) leaves its outcome unknown: the partition is reported lost, and
 * the engine recovers it, which settles the question (InitProducerId, then
 * the committed offset read fresh).
 */
export class PartitionTransactions {
  private readonly open = new Map<number, PartitionTransaction>();
  /** Per partition, bumped by every acquire and release: an acquire that is no longer the latest gives its producer up. */
  private readonly generations = new Map<number, number>();
  private buffered = 0;
  private readonly roomWaiters: Array<() => void> = [];
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly config: TransactionsConfig,
  ) {}

  static async connect(config: TransactionsConfig): Promise<PartitionTransactions> {
    const kafka = createKafka(config.brokers, `${config.groupId}-transactions`);
    for (const { topic, partitions } of [config.alerts, config.deadLetters, ...(config.shadow === undefined ? [] : [config.shadow])]) {
      await ensureTopic(kafka, topic, partitions);
    }
    return new PartitionTransactions(kafka, config);
  }

  /**
   * Takes the partition's transactional id: fences any other holder and waits
   * until the transaction it left open is committed or aborted. Call before
   * reading the partition's committed offset.
   */
  async acquire(partition: number): Promise<void> {
    await this.release(partition);
    const generation = this.bump(partition);
    const transactionalId = `${this.config.groupId}.${this.config.sourceTopic}.${partition}`;
    const producer = this.kafka.producer(transactionalSettings(transactionalId, this.config.transactionTimeoutMs));
    try {
      await producer.connect();
      const transaction = await whileConcurrent(() => producer.transaction());
      // Closed, released or acquired again meanwhile: this producer must not stay open (nothing else would close it).
      if (this.closed || this.generations.get(partition) !== generation) throw new SinkError(`partition ${partition}'s acquire was superseded`);
      this.open.set(partition, new PartitionTransaction(producer, transaction, this.config, partition, (bytes) => this.sent(bytes)));
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw new SinkError(`cannot take the transactional id ${transactionalId}`, { cause: error, retriable: true });
    }
  }

  /** Gives the partition up: its open transaction is aborted (its new owner redoes those records). */
  async release(partition: number): Promise<void> {
    this.bump(partition);
    const owned = this.open.get(partition);
    if (owned === undefined) return;
    this.open.delete(partition);
    await owned.abandon();
  }

  /** Outputs of the partition's next records, in order; they go into its open transaction. */
  write(partition: number, outputs: BatchOutputs): void {
    const owned = this.open.get(partition);
    if (owned === undefined) throw new SinkError(`partition ${partition} has no transaction: it was never acquired, or it was released`);
    this.buffered += owned.write(outputs);
  }

  async ready(): Promise<void> {
    while (this.buffered > HIGH_WATER_BYTES) {
      for (const owned of this.open.values()) owned.sendBuffered();
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /**
   * Commits each partition's transaction with its position (partition → next
   * offset to read; a partition with outputs always has one), all at once.
   * Resolves with the partitions whose commit failed: their outcome is
   * unknown, and they must be recovered before their records go on.
   */
  async commit(positions: ReadonlyMap<number, number>): Promise<number[]> {
    const lost: number[] = [];
    await Promise.all(
      [...this.open].map(async ([partition, owned]) => {
        const position = positions.get(partition);
        if (position === undefined && !owned.hasOutputs) return;
        try {
          await owned.commit(position);
        } catch (error) {
          // Released (and maybe taken again) during the commit: that one was given up on purpose, nothing is lost.
          if (this.open.get(partition) !== owned) return;
          log.warn({ err: error, partition }, 'a partition transaction failed: recovering the partition');
          lost.push(partition);
          this.open.delete(partition);
          await owned.abandon();
        }
      }),
    );
    return lost;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.open.keys()].map((partition) => this.release(partition)));
  }

  private bump(partition: number): number {
    const generation = (this.generations.get(partition) ?? 0) + 1;
    this.generations.set(partition, generation);
    return generation;
  }

  private sent(bytes: number): void {
    this.buffered -= bytes;
    if (this.buffered <= HIGH_WATER_BYTES) for (const wake of this.roomWaiters.splice(0)) wake();
  }
}

/** An output bound for a topic of the partition's transaction. */
interface Outgoing {
  topic: string;
  message: Message;
  bytes: number;
}

/** One partition's producer and its open transaction. */
class PartitionTransaction {
  /** Sends into the open transaction, one at a time, in order; what is written meanwhile goes in the next. */
  private readonly delivery: OrderedDelivery<Outgoing>;
  private wrote = false;
  /** A commit runs: a write now would go into the committing transaction, under offsets that do not cover its records. */
  private committing = false;

  constructor(
    private readonly producer: Producer,
    private transaction: Transaction | undefined,
    private readonly config: TransactionsConfig,
    private readonly partition: number,
    sent: (bytes: number) => void,
  ) {
    this.delivery = new OrderedDelivery({
      deliver: (records) => this.send(records),
      bytesOf: (record) => record.bytes,
      // At most CHUNK_BYTES a request: a partition's batch over the broker's message size limit is refused.
      chunkBytes: CHUNK_BYTES,
      lingerMs: config.lingerMs,
      onSettled: sent,
    });
  }

  /** Whether the open transaction holds (or will hold) outputs. */
  get hasOutputs(): boolean {
    return this.wrote || this.delivery.buffered > 0;
  }

  /** Buffers the records; returns the bytes added. */
  write({ alerts, deadLetters, shadow }: BatchOutputs): number {
    // The ledger holds outputs while a transactional commit runs (ledger.ts); this would be its bug, and a silent duplicate after a recovery.
    if (this.committing) throw new SinkError(`partition ${this.partition}'s outputs were written while its transaction committed`);
    const { config } = this;
    const byTopic: Array<readonly [string, readonly OutRecord[]]> = [
      [config.alerts.topic, alerts],
      [config.deadLetters.topic, deadLetters],
    ];
    // Without a shadow sink, shadow alerts are only counted (they never go to the alerts topic).
    if (config.shadow !== undefined) byTopic.push([config.shadow.topic, shadow]);
    const outgoing: Outgoing[] = [];
    for (const [topic, records] of byTopic) {
      for (const record of records) {
        outgoing.push({ topic, message: { key: record.key === '' ? null : record.key, value: record.value }, bytes: record.key.length + record.value.length });
      }
    }
    return this.delivery.write(outgoing);
  }

  /** Starts sending what is buffered (in the background, after the send out). */
  sendBuffered(): void {
    this.delivery.kick();
  }

  private async send(records: Outgoing[]): Promise<void> {
    this.wrote = true;
    const transaction = await this.current();
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of records) {
      const messages = byTopic.get(topic);
      if (messages === undefined) byTopic.set(topic, [message]);
      else messages.push(message);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    await whileConcurrent(() => transaction.sendBatch({ topicMessages, acks: -1 }));
  }

  /** Sends the rest, adds the position (if any) and commits; the next transaction opens on the next write. */
  async commit(position: number | undefined): Promise<void> {
    this.committing = true;
    try {
      await this.delivery.flush();
      const transaction = await this.current();
      if (position !== undefined) {
        const topics = [{ topic: this.config.sourceTopic, partitions: [{ partition: this.partition, offset: String(position) }] }];
        await whileConcurrent(() => transaction.sendOffsets({ consumerGroupId: this.config.groupId, topics }));
      }
      await whileConcurrent(() => transaction.commit());
      this.transaction = undefined;
      this.wrote = false;
    } finally {
      this.committing = false;
    }
  }

  /**
   * Drops what is buffered and disconnects at once, without aborting: requests
   * in flight fail, and the open transaction is aborted by the broker when the
   * partition's next owner takes the transactional id, or when it times out.
   * (An abort would need the broker that may be the reason for giving up.)
   */
  async abandon(): Promise<void> {
    this.delivery.fail(new SinkError(`partition ${this.partition}'s transaction was abandoned`));
    await this.producer.disconnect().catch(() => {});
    await this.delivery.settled();
  }

  private async current(): Promise<Transaction> {
    this.transaction ??= await whileConcurrent(() => this.producer.transaction());
    return this.transaction;
  }
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
    throw new SinkError('a Kafka transaction request failed', { cause: error, retriable: true });
  }
}

function isConcurrent(error: unknown): boolean {
  return (error as { type?: string }).type === 'CONCURRENT_TRANSACTIONS';
}
