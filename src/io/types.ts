/**
 * The seams every input and output plugs into. File, stdin, generator and
 * Kafka implement them alike, so the coordinator never knows which it has.
 */

/** Where a record came from, as written into its dead letter. */
export type RecordPosition = { file: string; line: number } | { topic: string; partition: number; offset: string } | { stream: string; index: number };

/** A run of records from one source partition, in source order. */
export interface SourceBatch {
  /** Source partition (Kafka partition; 0 for single-stream sources). */
  readonly partition: number;
  readonly values: readonly Buffer[];
  /** Record keys; null entries (or no array) mean "route by the parsed zone_id". */
  readonly keys: ReadonlyArray<Buffer | null> | null;
  /** Default ts per record (record timestamp or read time), used when a reading has none. */
  readonly timestamps: Float64Array;
  /** The position of record i, for its dead letter. */
  position(i: number): RecordPosition;
  /** Where the partition resumes after this batch (Kafka: last offset + 1); undefined for sources that cannot resume. */
  readonly resumeAt?: string;
  /**
   * How many leading records are a replay: already processed and committed
   * before a restart, read again only to rebuild state. Their alerts and dead
   * letters were written then and are not written again.
   */
  readonly replayed?: number;
}

/** What a source asks of the engine when its partitions come and go (a consumer-group rebalance). */
export interface PartitionHandler {
  /** A partition arrived: load its state; resolves to the offset its state resumes from (null: no state, start over). */
  assigned(partition: number): Promise<string | null>;
  /** Partitions left: forget their state here (their new owner loads it from the store). */
  revoked(partitions: readonly number[]): Promise<void>;
}

export interface Source {
  /**
   * The next batch in source order, or null once a bounded source is drained
   * or `stop()` was called. Never called concurrently, never after close().
   */
  next(): Promise<SourceBatch | null>;
  /**
   * Declares `batches` done: their alerts and dead letters are durable in the
   * sinks, and so are those of every batch returned before them. Batches come
   * in the order next() returned them; a source persists the last position of
   * each partition as its resume point.
   */
  commit(batches: readonly SourceBatch[]): Promise<void>;
  /** Partitioned sources call this handler on assignment changes; others ignore it. */
  setPartitionHandler?(handler: PartitionHandler): void;
  /** Records known to be waiting behind the current position, if the source can tell. */
  lag(): number | undefined;
  /**
   * Whether this process still owns a partition. After a rebalance takes one
   * away, its records already fetched must not be processed here (its zones
   * have left) nor committed (its new owner decides).
   */
  owns?(partition: number): boolean;
  /** Lag per partition, for sources that have partitions. */
  lagByPartition?(): ReadonlyMap<number, number>;
  /** Whether the source has its partitions assigned and their state loaded (readiness probes). */
  ready?(): boolean;
  /** Asks the source to end: the next (or a pending) next() resolves null. */
  stop(): void;
  /** Releases resources. Called once, after the last next()/commit(). */
  close(): Promise<void>;
}

/** One output record: the zone (Kafka key) and the JSON text. */
export interface OutRecord {
  key: string;
  value: string;
}

export interface Sink {
  /** Appends records in order. Never blocks; callers await ready() for backpressure. */
  write(records: readonly OutRecord[]): void;
  /** Resolves when the sink has room for more (its buffer is under the high-water mark). */
  ready(): Promise<void>;
  /** Resolves once everything written so far is durable (file: in the OS; Kafka: acknowledged). Rejects on failure. */
  flush(): Promise<void>;
  /** Flushes and releases resources. */
  close(): Promise<void>;
}
