/** What one source partition's snapshot holds: every zone last seen there, and where to resume. */
export interface PartitionSnapshot {
  /** Source position to resume from: every record before it is in the zones, none after. */
  offset: string;
  zones: Uint8Array[];
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
   * The snapshot of one partition, or null if there is none. Throws StateError
   * for a snapshot of another format or made under other rules or window.
   */
  load(partition: number): Promise<PartitionSnapshot | null>;
  /**
   * Atomically stores changed zones of a partition together with its resume
   * offset. `previous` is the offset this process last saved or loaded for
   * it (null: none). With `full`, the partition's stored zones are replaced.
   */
  save(partition: number, zones: ReadonlyMap<string, Uint8Array>, offset: string, previous: string | null, full: boolean): Promise<SaveOutcome>;
  /** The resume offset of the stored snapshot of a partition (null: none): a cheap check that the store still holds it. */
  offsetOf(partition: number): Promise<string | null>;
  /** Deletes every snapshot under this store's prefix and topic; returns how many partitions were removed. */
  reset(): Promise<number>;
  close(): Promise<void>;
}
