import type { SourceBatch } from '../types.js';

/** A fetched batch as the Kafka source makes it (fetchedBatch()). */
export interface FetchedBatch extends SourceBatch {
  readonly topic: string;
  readonly values: readonly Buffer[];
  readonly keys: ReadonlyArray<Buffer | null>;
  readonly offsets: readonly number[];
  readonly fetchedAt: number;
}

/** A batch of one partition's records, each record's position its topic, partition and offset. */
export function fetchedBatch(fields: Omit<FetchedBatch, 'position'>): FetchedBatch {
  const { topic, partition, offsets } = fields;
  return { ...fields, position: (i) => ({ topic, partition, offset: String(offsets[i]) }) };
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
  private readonly queue: FetchedBatch[] = [];

  constructor(private readonly maxRecords: number) {}

  /** Batches waiting (merged ones count once). */
  get length(): number {
    return this.queue.length;
  }

  /** Records waiting. */
  get records(): number {
    let records = 0;
    for (const batch of this.queue) records += batch.values.length;
    return records;
  }

  push(batch: FetchedBatch): void {
    let last = this.queue.length - 1;
    while (last >= 0 && this.queue[last]?.partition !== batch.partition) last--;
    const earlier = this.queue[last];
    if (earlier !== undefined && earlier.values.length + batch.values.length <= this.maxRecords) this.queue[last] = merged(earlier, batch);
    else this.queue.push(batch);
  }

  shift(): FetchedBatch | undefined {
    return this.queue.shift();
  }

  /** Drops the waiting batches of the partitions `drop` names. */
  dropWhere(drop: (partition: number) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (drop(this.queue[i]?.partition ?? -1)) this.queue.splice(i, 1);
  }
}

/** `later`'s records after `earlier`'s, as one batch: fetched when `earlier` was (the engine's latency starts at the older fetch). */
function merged(earlier: FetchedBatch, later: FetchedBatch): FetchedBatch {
  const timestamps = new Float64Array(earlier.timestamps.length + later.timestamps.length);
  timestamps.set(earlier.timestamps);
  timestamps.set(later.timestamps, earlier.timestamps.length);
  return fetchedBatch({
    topic: earlier.topic,
    partition: earlier.partition,
    values: earlier.values.concat(later.values),
    keys: earlier.keys.concat(later.keys),
    timestamps,
    offsets: earlier.offsets.concat(later.offsets),
    fetchedAt: Math.min(earlier.fetchedAt, later.fetchedAt),
  });
}
