import { applyUpdate, unpackUpdates } from '../engine/zone-image.js';
import type { SaveOutcome, StateStore, StoredSnapshot, StoredWindow } from './types.js';

interface Stored {
  offset: number;
  zones: Map<string, Uint8Array>;
}

/**
 * Snapshots in this process's memory, with the Redis store's semantics
 * (atomic saves checked against the previous offset, updates applied as the
 * Redis script applies them). For tests of the coordinator, several engines
 * in one process sharing it as they would share Redis, and tools that replay
 * history without touching any deployment's state.
 */
export class MemoryStateStore implements StateStore {
  private readonly partitionsStored = new Map<number, Stored>();

  async snapshotOf(partition: number): Promise<StoredSnapshot | null> {
    const stored = this.partitionsStored.get(partition);
    return stored === undefined ? null : { offset: stored.offset, converted: false };
  }

  async zoneIdsOf(partition: number): Promise<string[]> {
    return [...(this.partitionsStored.get(partition)?.zones.keys() ?? [])];
  }

  async fetch(partition: number, zoneIds: readonly string[]): Promise<Array<Uint8Array | null>> {
    const zones = this.partitionsStored.get(partition)?.zones;
    // Copies, as Redis gives: the caller may hand them to a worker.
    return zoneIds.map((zoneId) => zones?.get(zoneId)?.slice() ?? null);
  }

  async save(partition: number, chunks: readonly Uint8Array[], offset: number, previous: number | null, full: boolean): Promise<SaveOutcome> {
    const stored = this.partitionsStored.get(partition);
    if (!full && (stored?.offset ?? null) !== previous) return 'resync';
    const zones = full || stored === undefined ? new Map<string, Uint8Array>() : new Map(stored.zones);
    let missing = false;
    for (const chunk of chunks) {
      for (const update of unpackUpdates(chunk)) {
        const image = zones.get(update.zoneId);
        if (!update.whole && image === undefined) {
          missing = true;
          continue;
        }
        zones.set(update.zoneId, applyUpdate(image?.slice(), update));
      }
    }
    this.partitionsStored.set(partition, { offset, zones });
    return missing ? 'resync' : 'saved';
  }

  async offsetOf(partition: number): Promise<number | null> {
    return this.partitionsStored.get(partition)?.offset ?? null;
  }

  async partitions(): Promise<number[]> {
    return [...this.partitionsStored.keys()].sort((a, b) => a - b);
  }

  async storedWindow(): Promise<StoredWindow | null> {
    return null;
  }

  async zoneIds(): Promise<string[]> {
    return [...new Set([...this.partitionsStored.values()].flatMap((stored) => [...stored.zones.keys()]))];
  }

  async reset(): Promise<number> {
    const removed = this.partitionsStored.size;
    this.partitionsStored.clear();
    return removed;
  }

  /** Forgets one partition's snapshot, as a Redis that restarted empty would. */
  lose(partition: number): void {
    this.partitionsStored.delete(partition);
  }

  async close(): Promise<void> {}
}
