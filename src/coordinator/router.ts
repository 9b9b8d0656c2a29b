import type { SourceBatch } from '../io/types.js';
import type { ProcessTask } from '../protocol/messages.js';
import { hashBytes, hashString } from '../sharding/hash.js';
import type { HashRing } from '../sharding/ring.js';
import { zoneIdRange } from '../sharding/route-hint.js';

/** Records of one batch bound for one shard, and the task that carries them. */
export interface ShardPart {
  shard: number;
  /** Index in the source batch of each record in the task. */
  indices: number[];
  task: ProcessTask;
}

export interface RoutedBatch {
  parts: ShardPart[];
  /** Records with a key that is not their zone_id (or no key), where the source has keys. */
  keyMismatches: number;
  /** Indices of records refused before any worker (requireZoneKey: keyed by something else). */
  refused: number[];
}

/** The dead-letter reason of a record refused for its key (`source.requireZoneKey`). */
export const KEY_REASON = 'key: expected the record key to be the zone_id';

/**
 * Decides which shard owns each record by the zone_id in its text: found
 * without parsing where it plainly can be (route-hint.ts), parsed otherwise.
 * Keys are never trusted for routing (a producer may key by device, or not
 * at all); they are only compared with the zone_id, because per-zone order
 * exists only when a zone's readings share a partition.
 */
export class Router {
  constructor(
    private readonly ring: HashRing,
    private readonly requireZoneKey: boolean,
  ) {}

  route(batch: SourceBatch): RoutedBatch {
    const byShard: number[][] = Array.from({ length: this.ring.shards }, () => []);
    const refused: number[] = [];
    let keyMismatches = 0;
    const { values, keys } = batch;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === undefined) continue;
      const key = keys === null ? undefined : (keys[i] ?? null);
      const range = zoneIdRange(value);
      let hash: number;
      let keyMatches = true;
      if (range !== undefined) {
        hash = hashBytes(value, range[0], range[1]);
        if (key !== undefined) keyMatches = key !== null && value.compare(key, 0, key.length, range[0], range[1]) === 0;
      } else {
        // Escapes or an odd layout (rare): parse. Not a reading at all: any shard, whose worker rejects it.
        const zoneId = zoneIdByParsing(value);
        hash = hashString(zoneId ?? '');
        if (key !== undefined && zoneId !== undefined) keyMatches = key !== null && key.toString('utf8') === zoneId;
      }
      if (!keyMatches) {
        keyMismatches++;
        if (this.requireZoneKey) {
          refused.push(i);
          continue;
        }
      }
      byShard[this.ring.ownerOfHash(hash)]?.push(i);
    }
    const parts: ShardPart[] = [];
    byShard.forEach((indices, shard) => {
      if (indices.length > 0) parts.push({ shard, indices, task: packTask(batch, indices) });
    });
    return { parts, keyMismatches, refused };
  }
}

/** Copies the chosen records into one transferable buffer with end offsets. */
function packTask(batch: SourceBatch, indices: readonly number[]): ProcessTask {
  const values = indices.map((index) => batch.values[index] ?? Buffer.alloc(0));
  const bytes = Buffer.allocUnsafeSlow(values.reduce((total, value) => total + value.length, 0));
  const ends = new Uint32Array(indices.length);
  const defaultTs = new Float64Array(indices.length);
  let at = 0;
  values.forEach((value, k) => {
    at += value.copy(bytes, at);
    ends[k] = at;
    defaultTs[k] = batch.timestamps[indices[k] ?? 0] ?? 0;
  });
  return { kind: 'process', partition: batch.partition, records: Uint32Array.from(indices), bytes, ends, defaultTs };
}

function zoneIdByParsing(value: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || !('zone_id' in parsed)) return undefined;
    return typeof parsed.zone_id === 'string' ? parsed.zone_id : undefined;
  } catch {
    return undefined;
  }
}
