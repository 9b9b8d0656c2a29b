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

/**
 * Decides which shard owns each record, without parsing where it can: by the
 * record key when keys are zone ids, else by the zone_id's bytes found in the
 * text, else (rare: escapes, odd layouts) by parsing. A worker double-checks
 * ownership when it first sees a zone and sends back what is not its own.
 */
export class Router {
  constructor(
    private readonly ring: HashRing,
    private readonly keyIsZoneId: boolean,
  ) {}

  shardOf(batch: SourceBatch, i: number): number {
    const key = this.keyIsZoneId ? batch.keys?.[i] : null;
    if (key) return this.ring.ownerOfHash(hashBytes(key));
    const value = batch.values[i] as Buffer;
    const range = zoneIdRange(value);
    if (range) return this.ring.ownerOfHash(hashBytes(value, range[0], range[1]));
    return this.ring.ownerOfHash(hashString(zoneIdByParsing(value)));
  }

  /** Splits a batch into one task per shard, keeping source order within each. */
  split(batch: SourceBatch): ShardPart[] {
    const byShard: number[][] = Array.from({ length: this.ring.shards }, () => []);
    for (let i = 0; i < batch.values.length; i++) (byShard[this.shardOf(batch, i)] as number[]).push(i);
    return this.parts(batch, byShard);
  }

  /** Tasks for records whose owner is already known (records sent back by a worker). */
  splitByZone(batch: SourceBatch, indices: readonly number[], zones: readonly string[]): ShardPart[] {
    const byShard: number[][] = Array.from({ length: this.ring.shards }, () => []);
    indices.forEach((index, k) => {
      (byShard[this.ring.ownerOf(zones[k] as string)] as number[]).push(index);
    });
    return this.parts(batch, byShard);
  }

  private parts(batch: SourceBatch, byShard: number[][]): ShardPart[] {
    const parts: ShardPart[] = [];
    byShard.forEach((indices, shard) => {
      if (indices.length > 0) parts.push({ shard, indices, task: packTask(batch, indices) });
    });
    return parts;
  }
}

/** Copies the chosen records into one transferable buffer with end offsets. */
function packTask(batch: SourceBatch, indices: readonly number[]): ProcessTask {
  let total = 0;
  for (const i of indices) total += (batch.values[i] as Buffer).length;
  const bytes = Buffer.allocUnsafeSlow(total);
  const ends = new Uint32Array(indices.length);
  const defaultTs = new Float64Array(indices.length);
  let at = 0;
  indices.forEach((index, k) => {
    at += (batch.values[index] as Buffer).copy(bytes, at);
    ends[k] = at;
    defaultTs[k] = batch.timestamps[index] as number;
  });
  return { kind: 'process', partition: batch.partition, bytes, ends, defaultTs };
}

// Any string is fine for a record that is not a valid reading: its worker rejects it.
function zoneIdByParsing(value: Buffer): string {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { zone_id?: unknown } | null;
    return typeof parsed?.zone_id === 'string' ? parsed.zone_id : '';
  } catch {
    return '';
  }
}
