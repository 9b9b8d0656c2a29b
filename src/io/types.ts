/**
 * The seams every input and output plugs into. File, stdin, generator and
 * Kafka implement them alike, so the coordinator never knows which it has.
 */

/** Where a record came from, as written into its dead letter. */
export type RecordPosition = { file: string; line: number } | { topic: string; partition: number; offset: string } | { stream: string; index: number };

/** A run of records from one source partition, in source order. */
/**
 * A batch's record values and keys copied once into memory the workers
 * share (a SharedArrayBuffer), each record found by its spans. A worker's
 * task reads its records from these bytes: nothing copied per record, per
 * shard or per worker, and no Buffer object per record kept while the batch
 * waits (a Buffer is 96 bytes of heap; with two per record the coordinator's
 * young-generation GCs copied hundreds of thousands of them a second).
 */
export interface PackedRecords {
  readonly bytes: Uint8Array;
  readonly valueStarts: Uint32Array;
  readonly valueEnds: Uint32Array;
  /** -1: the record has no key. */
  readonly keyStarts: Int32Array;
  readonly keyEnds: Uint32Array;
}

/** What every batch a source hands over has, however it holds its records. */
interface BatchBase {
  /** Source partition (Kafka partition; 0 for single-stream sources). */
  readonly partition: number;
  /** Default ts per record (record timestamp or read time), used when a reading has none; one per record. */
  readonly timestamps: Float64Array;
  /** The position of record i, for its dead letter. */
  position(i: number): RecordPosition;
  /**
   * performance.now() when the source had the records (Kafka: when the
   * client handed the fetched batch over), where the engine's latency
   * starts; absent: when the engine takes the batch.
   */
  readonly fetchedAt?: number;
  /**
   * Offsets of the records, ascending (partitioned sources that can resume;
   * undefined otherwise). A partition resumes after a batch at its last
   * offset + 1.
   */
  readonly offsets?: readonly number[];
}

/** Records as Buffers (the file, stdin and generator sources); the router packs them. */
export interface BufferBatch extends BatchBase {
  readonly values: readonly Buffer[];
  /** Record keys, where the source has them (Kafka); compared with each reading's zone_id, never used to route. */
  readonly keys: ReadonlyArray<Buffer | null> | null;
}

/** Records already packed where the workers read them (the Kafka source: no Buffer per record). */
export interface PackedBatch extends BatchBase {
  readonly packed: PackedRecords;
}

export type SourceBatch = BufferBatch | PackedBatch;

/**
 * What a partitioned source (a consumer-group member) tells the engine as
 * partitions come and go. Calls arrive in assignment order; both are
 * notifications, and the source does not wait for them except as said.
 */
export interface PartitionListener {
  /**
   * A partition arrived. The source hands on none of its records until the
   * returned promise settles (recovery: the engine loads the partition's
   * state and may seek). A rejection is fatal: the source fails with it.
   */
  assigned(partition: number): Promise<void>;
  /** Partitions left. Records of theirs already handed on must be neither processed nor committed here. */
  revoked(partitions: readonly number[]): void;
}

/** The control a partitioned source offers over its positions. */
export interface PartitionControl {
  /** Registers the one listener (before records flow). */
  listen(listener: PartitionListener): void;
  /** The group's committed offset of a partition, read fresh (null: none committed). */
  committed(partition: number): Promise<number | null>;
  /** The oldest offset the partition still retains. */
  earliest(partition: number): Promise<number>;
  /** Where a member starts a partition that has nothing committed (the earliest or the latest offset, as configured). */
  initial(partition: number): Promise<number>;
  /** Reads the partition from `offset` next; records before it that are already fetched are dropped. */
  seek(partition: number, offset: number): void;
  /** Whether the partition is assigned to this process right now. */
  owns(partition: number): boolean;
  /**
   * Recovers a partition this process still owns as if it had just been
   * assigned (its state or its transaction was lost): records fetched and
   * not yet handed on are dropped, the listener's revoked() then assigned()
   * are called, and records wait for the recovery as on assignment.
   */
  recover(partition: number): void;
}

export interface Source {
  /**
   * The next batch in source order, or null once a bounded source is drained
   * or `stop()` was called. Never called concurrently, never after close().
   * While a partition stays assigned, no record is handed on twice unless
   * seek() rewinds it; records fetched before a partition was revoked are
   * never handed on after the revoke was announced.
   */
  next(): Promise<SourceBatch | null>;
  /**
   * Declares everything before `positions` (partition → next offset to read)
   * done: its alerts and dead letters are durable in the sinks. A source
   * persists them as its resume points; sources that cannot resume ignore it.
   * A partition this process no longer owns is not committed. Resolves with
   * the partitions whose positions were left uncommitted that way (a
   * rebalance under way), so that they are asked for again.
   */
  commit(positions: ReadonlyMap<number, number>): Promise<readonly number[]>;
  /** Present on partitioned sources (Kafka). */
  readonly partitions?: PartitionControl;
  /** Records known to be waiting behind the current position, if the source can tell. */
  lag(): number | undefined;
  /** Lag per partition, for sources that have partitions. */
  lagByPartition?(): ReadonlyMap<number, number>;
  /** Whether the source hears from its broker (a group member heartbeating); sources without one always do. */
  connected?(): boolean;
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

/** What one batch of readings produced for the outputs, replayed records left out. */
export interface BatchOutputs {
  alerts: OutRecord[];
  deadLetters: OutRecord[];
  /** Alerts of shadow rules: never in the alerts sink (contract §7.4). */
  shadow: OutRecord[];
  /** Alerts of replayed records: written before a restart, so not written again; deliveries remember them. */
  replayedAlerts: OutRecord[];
}

/** What a sink carries (names it in messages and picks a Kafka producer's client id). */
export type SinkRole = 'alerts' | 'dead-letters' | 'shadow';

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
