import { StateError } from '../errors.js';
import type { PartitionSnapshot, StateStore } from './types.js';

/** Zones per read: the engine restores and reloads in batches this size, never a whole partition at once. */
export const ZONES_PER_READ = 500;

/**
 * A partition's snapshot read whole, as one consistent cut (read again if it
 * was saved meanwhile): for tools and tests. The engine streams it instead
 * (coordinator/checkpoints.ts), so that no process holds every image at once.
 */
export async function readPartition(store: StateStore, partition: number): Promise<PartitionSnapshot | null> {
  for (;;) {
    const snapshot = await store.snapshotOf(partition);
    if (snapshot === null) return null;
    const zoneIds = await store.zoneIdsOf(partition);
    const zones = new Map<string, Uint8Array>();
    for (let i = 0; i < zoneIds.length; i += ZONES_PER_READ) {
      const ids = zoneIds.slice(i, i + ZONES_PER_READ);
      const images = await store.fetch(partition, ids, snapshot);
      ids.forEach((zoneId, k) => {
        const image = images[k];
        if (image === null || image === undefined) throw new StateError(`the snapshot of partition ${partition} lists zone ${zoneId} but does not hold it`);
        zones.set(zoneId, image);
      });
    }
    if ((await store.offsetOf(partition)) !== snapshot.offset) continue;
    return snapshot.converted ? { offset: snapshot.offset, zones, converted: true } : { offset: snapshot.offset, zones };
  }
}
