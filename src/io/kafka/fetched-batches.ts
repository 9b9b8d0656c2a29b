import type { KafkaMessage } from 'kafkajs';
import { joinPacked, type PackedRecords, RecordPacker, recordCount } from '../packed-records.js';
import type { PackedBatch } from '../types.js';
import { FetchedRecord, recordSpans } from './record-batch-decoder.js';

const EMPTY = Buffer.alloc(0);

/** A fetched batch as the Kafka source makes it (fetchedBatch()). */
export interface FetchedBatch extends PackedBatch {
  readonly topic: string;
  readonly offsets: readonly number[];
  readonly fetchedAt: number;
}

/** A batch of one partition's records, each record's position its topic, partition and offset. */
export function fetchedBatch(fields: Omit<FetchedBatch, 'position'>): FetchedBatch {
  const { topic, partition, offsets } = fields;
  return { ...fields, position: (i) => ({ topic, partition, offset: String(offsets[i]) }) };
}

/**
 * Records `start`..`start + count - 1` of a fetch, packed: their keys and
 * values copied from the fetch buffer, offsets and times as numbers. This
 * runs for every record, on the thread that also decodes the fetches. A
 * record from Klaxon's decoder gives its spans and numbers as they are; one
 * from kafkajs's (an unusual batch, or `recordDecoder: kafkajs`) its Buffers
 * and decimal strings.
 */
export function packFetched(
  messages: readonly KafkaMessage[],
  start: number,
  count: number,
): { packed: PackedRecords; offsets: number[]; timestamps: Float64Array } {
  const packer = new RecordPacker(count);
  const offsets = new Array<number>(count);
  const timestamps = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const m = messages[start + k] as KafkaMessage | FetchedRecord;
    if (m instanceof FetchedRecord) {
      const { keyStart, keyEnd, valueStart, valueEnd } = recordSpans(m);
      const key = keyStart < 0 ? null : m.source;
      // A null value is read as an empty one (the worker rejects it), as from kafkajs's records below.
      if (valueStart < 0) packer.add(EMPTY, 0, 0, key, keyStart, keyEnd);
      else packer.add(m.source, valueStart, valueEnd, key, keyStart, keyEnd);
      offsets[k] = m.offsetNumber;
      timestamps[k] = m.timestampMs;
    } else {
      packer.addBuffers(m.value ?? EMPTY, m.key ?? null);
      offsets[k] = Number(m.offset);
      timestamps[k] = Number(m.timestamp);
    }
  }
  return { packed: packer.pack(), offsets, timestamps };
}

/**
 * The Kafka source's queue of fetched batches not yet taken by the engine.
 * A batch pushed while an earlier one of its partition still waits joins that
 * one, up to `maxRecords`: under a backlog the engine takes fewer, larger
 * batches. (At 50k readings/s over 6 partitions kafkajs hands over 30–100
 * records a fetch: per-batch costs, a task per worker and a ledger entry per
 * batch, then stretched a backlog that a burst left behind; measured.) When
 * the engine keeps up nothing waits, and a batch goes on as fetched.
 */
export class FetchedBatches {
  /**
   * Per waiting batch, the fetches it is made of, joined once when it is taken (joining at each push copied the
   * earlier records again every time: 600,000 records in 30-record fetches cost 235–390 ms, now 45–58 ms).
   */
  private readonly queue: Waiting[] = [];

  constructor(private readonly maxRecords: number) {}

  /** Batches waiting (merged ones count once). */
  get length(): number {
    return this.queue.length;
  }

  /** Records waiting. */
  get records(): number {
    let records = 0;
    for (const waiting of this.queue) records += waiting.records;
    return records;
  }

  push(batch: FetchedBatch): void {
    let last = this.queue.length - 1;
    while (last >= 0 && this.queue[last]?.partition !== batch.partition) last--;
    const earlier = this.queue[last];
    const records = recordCount(batch);
    if (earlier !== undefined && earlier.records + records <= this.maxRecords) {
      earlier.parts.push(batch);
      earlier.records += records;
    } else this.queue.push({ partition: batch.partition, parts: [batch], records });
  }

  shift(): FetchedBatch | undefined {
    const waiting = this.queue.shift();
    return waiting === undefined ? undefined : joined(waiting.parts);
  }

  /** Drops the waiting batches of the partitions `drop` names. */
  dropWhere(drop: (partition: number) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (drop(this.queue[i]?.partition ?? -1)) this.queue.splice(i, 1);
  }
}

interface Waiting {
  partition: number;
  /** Fetches of the partition, in fetch order. */
  parts: FetchedBatch[];
  records: number;
}

/** The fetches' records in order, as one batch: fetched when the first was (the engine's latency starts at the oldest fetch). */
function joined(parts: readonly FetchedBatch[]): FetchedBatch {
  const [first] = parts;
  if (first === undefined) throw new Error('a waiting batch has no fetch');
  if (parts.length === 1) return first;
  const timestamps = new Float64Array(parts.reduce((n, part) => n + part.timestamps.length, 0));
  let at = 0;
  for (const part of parts) {
    timestamps.set(part.timestamps, at);
    at += part.timestamps.length;
  }
  return fetchedBatch({
    topic: first.topic,
    partition: first.partition,
    packed: joinPacked(parts.map((part) => part.packed)),
    timestamps,
    offsets: first.offsets.concat(...parts.slice(1).map((part) => part.offsets)),
    fetchedAt: Math.min(...parts.map((part) => part.fetchedAt)),
  });
}
