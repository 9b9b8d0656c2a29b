/** Where one source partition's snapshot stands: its zones are read apart (zoneIdsOf, fetch). */
export interface StoredSnapshot {
  /** Source position to resume from: every record before it is in the zones, none after. */
  offset: number;
  /**
   * Made before live rules: fetch converts its images (engine/legacy-image.ts) as it reads them, but
   * the store still holds the old layout, so the next save must write the partition whole.
   */
  converted: boolean;
}

/** A partition's snapshot read whole (state/read-partition.ts): for tools and tests, not the engine. */
export interface PartitionSnapshot {
  offset: number;
  /** Each zone's image by zone id (engine/zone-image.ts reads an image). */
  zones: ReadonlyMap<string, Uint8Array>;
  converted?: boolean;
}

/** The window a deployment's state was made with (contract §7.1): W, g, R. */
export interface StoredWindow {
  size: number;
  paneMs: number;
  retain: number;
}

export type SaveOutcome =
  /** Written atomically with its offset. */
  | 'saved'
  /** The stored snapshot is not the one this process last wrote or loaded (the store lost data, or another process wrote it): write the whole partition again. */
  | 'resync';

/**
 * Where zone state outlives the process. Snapshots are per source partition,
 * because partitions (and their zones) move between engine processes.
 */
export interface StateStore {
  /**
   * Where the partition's snapshot stands, or null if there is none. Throws
   * StateError for a snapshot of another format or identity.
   */
  snapshotOf(partition: number): Promise<StoredSnapshot | null>;
  /** The ids of every zone the partition's snapshot holds. */
  zoneIdsOf(partition: number): Promise<string[]>;
  /**
   * These zones' images in the partition's snapshot, in the same order (null
   * for a zone it does not hold), converted when `snapshot` says so. Read in
   * batches: the engine never holds a whole partition's images at once. A
   * snapshot saved meanwhile (its old owner's last save) would mix two cuts:
   * callers compare offsetOf() before and after.
   */
  fetch(partition: number, zoneIds: readonly string[], snapshot: StoredSnapshot): Promise<Array<Uint8Array | null>>;
  /**
   * Atomically applies a partition's zone updates (chunks packed by the
   * codec's UpdatePacker: whole images or changed byte ranges) together with
   * its resume offset. `previous` is the offset this process last saved or
   * loaded for it (null: none); if the store holds another, nothing is
   * written and the answer is 'resync'. With `full`, the partition's stored
   * zones are replaced by the updates (which must all be whole images).
   */
  save(partition: number, chunks: readonly Uint8Array[], offset: number, previous: number | null, full: boolean): Promise<SaveOutcome>;
  /** The resume offset of the stored snapshot of a partition (null: none): a cheap check that the store still holds it. */
  offsetOf(partition: number): Promise<number | null>;
  /** Partitions that have a snapshot, for operators. */
  partitions(): Promise<number[]>;
  /** The window the stored snapshots were made with (null: no snapshot), for `klaxon rules apply`. */
  storedWindow(): Promise<StoredWindow | null>;
  /** Every zone id some partition's snapshot holds, for `klaxon rules apply` (which zones a change reaches). */
  zoneIds(): Promise<string[]>;
  /** Deletes every snapshot under this store's prefix and topic; returns how many partitions were removed. */
  reset(): Promise<number>;
  close(): Promise<void>;
}
