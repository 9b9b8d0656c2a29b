/**
 * The load generator's producer: Kafka produce requests (v3, record batches
 * of format v2, uncompressed, not idempotent) written straight into one
 * buffer per request and sent on one socket per partition leader, with
 * several requests in flight. kafkajs encodes every record through its own
 * encoder objects: ~16 µs of CPU per reading with the generator's JSON
 * (profiled), on the same two cores as the engine it measures; here a
 * reading costs a few hundred nanoseconds of copying.
 *
 * Only what the bench needs: one topic, acks from the leader, a failed
 * partition fails the request (no retries: a bench run that loses readings
 * must say so, not hide it).
 */
import { connect, type Socket } from 'node:net';
import type { Kafka } from 'kafkajs';

const PRODUCE = 0;
const VERSION = 3;
/** A record batch's header before its records (format v2). */
const BATCH_HEADER = 61;
/** Where the CRC'd part of a batch starts: after baseOffset, length, leader epoch, magic and the CRC itself. */
const CRC_FROM = 21;

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array, from: number, to: number): number {
  let crc = 0xffffffff;
  for (let i = from; i < to; i++) crc = (CRC32C_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** One partition's record batch, written record by record into a reused buffer. */
class BatchWriter {
  private readonly buffer = Buffer.allocUnsafe(4 << 20);
  private at = BATCH_HEADER;
  count = 0;

  get empty(): boolean {
    return this.count === 0;
  }

  /** Appends a record with this key and value (ASCII), timestamp delta 0. */
  add(key: string, value: Buffer, valueLength: number): void {
    const b = this.buffer;
    const keyLength = key.length;
    const body = 1 + 1 + varintSize(zigzag(this.count)) + varintSize(zigzag(keyLength)) + keyLength + varintSize(zigzag(valueLength)) + valueLength + 1;
    let at = writeVarint(b, this.at, zigzag(body));
    b[at++] = 0; // attributes
    b[at++] = 0; // timestamp delta
    at = writeVarint(b, at, zigzag(this.count));
    at = writeVarint(b, at, zigzag(keyLength));
    at += b.write(key, at, 'latin1');
    at = writeVarint(b, at, zigzag(valueLength));
    at += value.copy(b, at, 0, valueLength);
    b[at++] = 0; // no headers
    this.at = at;
    this.count++;
  }

  /** Writes the batch header (all records stamped `timestamp`) and returns the batch; the writer starts over. */
  finish(timestamp: number): Buffer {
    const b = this.buffer;
    const end = this.at;
    b.writeBigInt64BE(0n, 0); // base offset
    b.writeInt32BE(end - 12, 8); // batch length: what follows it
    b.writeInt32BE(-1, 12); // partition leader epoch
    b[16] = 2; // magic
    b.writeInt16BE(0, 21); // attributes: no compression, create time
    b.writeInt32BE(this.count - 1, 23); // last offset delta
    b.writeBigInt64BE(BigInt(timestamp), 27);
    b.writeBigInt64BE(BigInt(timestamp), 35);
    b.writeBigInt64BE(-1n, 43); // producer id: none
    b.writeInt16BE(-1, 51); // producer epoch
    b.writeInt32BE(-1, 53); // base sequence
    b.writeInt32BE(this.count, 57);
    b.writeUInt32BE(crc32c(b, CRC_FROM, end), 17);
    const batch = Buffer.from(b.subarray(0, end));
    this.at = BATCH_HEADER;
    this.count = 0;
    return batch;
  }
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One broker connection: requests written as they come, answers matched in order by correlation id. */
class BrokerConnection {
  private readonly pending = new Map<number, Pending>();
  private received: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the broker closed the connection')));
  }

  static open(host: string, port: number): Promise<BrokerConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new BrokerConnection(socket)));
      socket.once('error', reject);
    });
  }

  request(correlationId: number, bytes: Buffer): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (this.received.length < 4 + size) return;
      const response = this.received.subarray(4, 4 + size);
      this.received = this.received.subarray(4 + size);
      const correlationId = response.readInt32BE(0);
      const waiting = this.pending.get(correlationId);
      if (waiting === undefined) continue;
      this.pending.delete(correlationId);
      const error = produceError(response);
      if (error === undefined) waiting.resolve();
      else waiting.reject(error);
    }
  }
}

/** The first partition error of a produce response (v3), if any. */
function produceError(response: Buffer): Error | undefined {
  let at = 4;
  const topics = response.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    at += 2 + response.readInt16BE(at);
    const partitions = response.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitions; p++) {
      const partition = response.readInt32BE(at);
      const code = response.readInt16BE(at + 4);
      if (code !== 0) return new Error(`produce to partition ${partition} failed with Kafka error code ${code}`);
      at += 4 + 2 + 8 + 8;
    }
  }
  return undefined;
}

/**
 * Readings for one topic: add() each record to its partition's batch,
 * then send() them all as one produce request per leader; resolves when
 * every leader acknowledged.
 */
export class RawProducer {
  private readonly writers: BatchWriter[];
  private correlationId = 0;

  private constructor(
    private readonly topic: string,
    private readonly leaders: readonly BrokerConnection[],
    /** Partition → index in leaders. */
    private readonly leaderOf: readonly number[],
    private readonly acks: number,
  ) {
    this.writers = leaderOf.map(() => new BatchWriter());
  }

  static async connect(kafka: Kafka, topic: string, acks = 1): Promise<RawProducer> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [{ brokers }, metadata] = await Promise.all([admin.describeCluster(), admin.fetchTopicMetadata({ topics: [topic] })]);
      const partitions = [...(metadata.topics[0]?.partitions ?? [])].sort((a, b) => a.partitionId - b.partitionId);
      const nodes = [...new Set(partitions.map((p) => p.leader))];
      const leaders = await Promise.all(
        nodes.map((node) => {
          const broker = brokers.find((b) => b.nodeId === node);
          if (broker === undefined) throw new Error(`no address for broker ${node}, the leader of a partition of ${topic}`);
          return BrokerConnection.open(broker.host, broker.port);
        }),
      );
      return new RawProducer(
        topic,
        leaders,
        partitions.map((p) => nodes.indexOf(p.leader)),
        acks,
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** Adds a record to its partition's next batch; `value` holds `valueLength` ASCII bytes. */
  add(partition: number, key: string, value: Buffer, valueLength: number): void {
    (this.writers[partition] as BatchWriter).add(key, value, valueLength);
  }

  /** Sends what was added (stamped `timestamp`), one request per leader; resolves once all are acknowledged. */
  send(timestamp: number): Promise<void> {
    const byLeader = this.leaders.map(() => [] as Array<{ partition: number; batch: Buffer }>);
    this.writers.forEach((writer, partition) => {
      if (!writer.empty) byLeader[this.leaderOf[partition] as number]?.push({ partition, batch: writer.finish(timestamp) });
    });
    const requests = byLeader.flatMap((batches, leader) => (batches.length === 0 ? [] : [this.request(leader, batches)]));
    return Promise.all(requests).then(() => {});
  }

  close(): void {
    for (const leader of this.leaders) leader.close();
  }

  private request(leader: number, batches: ReadonlyArray<{ partition: number; batch: Buffer }>): Promise<void> {
    const clientId = 'klaxon-load';
    const topicBytes = Buffer.byteLength(this.topic);
    const size = 2 + 2 + 4 + 2 + clientId.length + 2 + 2 + 4 + 4 + 2 + topicBytes + 4 + batches.reduce((sum, b) => sum + 4 + 4 + b.batch.length, 0);
    const bytes = Buffer.allocUnsafe(4 + size);
    const correlationId = ++this.correlationId & 0x7fffffff;
    let at = bytes.writeInt32BE(size, 0);
    at = bytes.writeInt16BE(PRODUCE, at);
    at = bytes.writeInt16BE(VERSION, at);
    at = bytes.writeInt32BE(correlationId, at);
    at = bytes.writeInt16BE(clientId.length, at);
    at += bytes.write(clientId, at, 'latin1');
    at = bytes.writeInt16BE(-1, at); // no transactional id
    at = bytes.writeInt16BE(this.acks, at);
    at = bytes.writeInt32BE(30_000, at); // timeout
    at = bytes.writeInt32BE(1, at); // one topic
    at = bytes.writeInt16BE(topicBytes, at);
    at += bytes.write(this.topic, at);
    at = bytes.writeInt32BE(batches.length, at);
    for (const { partition, batch } of batches) {
      at = bytes.writeInt32BE(partition, at);
      at = bytes.writeInt32BE(batch.length, at);
      at += batch.copy(bytes, at);
    }
    return (this.leaders[leader] as BrokerConnection).request(correlationId, bytes);
  }
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** Writes an unsigned varint (already zigzagged); returns the index after it. */
function writeVarint(b: Buffer, from: number, n: number): number {
  let at = from;
  let v = n;
  while (v >= 0x80) {
    b[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  b[at++] = v;
  return at;
}
