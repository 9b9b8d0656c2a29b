import type { SourceBatch } from '../io/types.js';
import type { ProcessTask } from '../protocol/messages.js';
import { hashBytes, hashString } from '../sharding/hash.js';
import type { HashRing } from '../sharding/ring.js';
import { findZoneId, type ZoneIdSpan } from '../sharding/route-hint.js';

/** Records of one batch bound for one shard, and the task that carries them. */
export interface ShardPart {
  shard: number;
  /** How many of the batch's records the task carries (their indices, ascending, are task.records). */
  count: number;
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

/** Not routed: refused for its key. */
const REFUSED = -1;
/**
 * Two records' values at most this far apart in one buffer are copied as one
 * run, gap included (a Kafka record's framing between two values is a few
 * bytes): one copy per fetched record batch instead of one per record.
 */
const MAX_GAP = 64;

/**
 * Decides which shard owns each record by the zone_id in its text: found
 * without parsing where it plainly can be (route-hint.ts), parsed otherwise.
 * Keys are never trusted for routing (a producer may key by device, or not
 * at all); they are only compared with the zone_id, because per-zone order
 * exists only when a zone's readings share a partition.
 *
 * The batch's bytes are copied once into a SharedArrayBuffer that every
 * shard's task reads (each with the offsets of its own records): no copy
 * per record and none per shard, and nothing to transfer.
 */
export class Router {
  private readonly span: ZoneIdSpan = { start: 0, end: 0 };

  constructor(
    private readonly ring: HashRing,
    private readonly requireZoneKey: boolean,
  ) {}

  route(batch: SourceBatch): RoutedBatch {
    const { values, keys } = batch;
    const n = values.length;
    const shardOf = new Int32Array(n);
    const counts = new Uint32Array(this.ring.shards);
    const refused: number[] = [];
    let keyMismatches = 0;
    for (let i = 0; i < n; i++) {
      const value = values[i] as Buffer;
      const key = keys === null ? undefined : (keys[i] ?? null);
      let hash: number;
      let keyMatches = true;
      if (findZoneId(value, 0, value.length, this.span)) {
        const { start, end } = this.span;
        hash = hashBytes(value, start, end);
        if (key !== undefined) keyMatches = key !== null && sameBytes(key, value, start, end);
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
          shardOf[i] = REFUSED;
          continue;
        }
      }
      const shard = this.ring.ownerOfHash(hash);
      shardOf[i] = shard;
      counts[shard] = (counts[shard] as number) + 1;
    }
    return { parts: packTasks(batch, shardOf, counts), keyMismatches, refused };
  }
}

/** One task per shard with records, all reading one shared copy of the batch's bytes. */
function packTasks(batch: SourceBatch, shardOf: Int32Array, counts: Uint32Array): ShardPart[] {
  const { values, timestamps } = batch;
  const n = values.length;
  // Where each record's value lands in the shared copy: runs of values that lie close together in one buffer are copied whole.
  const at = new Uint32Array(n);
  const runs: Array<{ source: Buffer; from: number; to: number; at: number }> = [];
  let size = 0;
  let run: { source: Buffer; from: number; to: number; at: number } | undefined;
  for (let i = 0; i < n; i++) {
    if (shardOf[i] === REFUSED) continue;
    const value = values[i] as Buffer;
    const from = value.byteOffset;
    if (run !== undefined && run.source.buffer === value.buffer && from >= run.to && from - run.to <= MAX_GAP) {
      size += from + value.length - run.to;
      run.to = from + value.length;
    } else {
      run = { source: value, from, to: from + value.length, at: size };
      runs.push(run);
      size += value.length;
    }
    at[i] = run.at + (from - run.from);
  }
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  for (const r of runs) bytes.set(new Uint8Array(r.source.buffer, r.from, r.to - r.from), r.at);
  const tasks = Array.from(counts, (count) => ({
    kind: 'process' as const,
    partition: batch.partition,
    bytes,
    records: new Uint32Array(count),
    starts: new Uint32Array(count),
    ends: new Uint32Array(count),
    defaultTs: new Float64Array(count),
  }));
  const filled = new Uint32Array(counts.length);
  for (let i = 0; i < n; i++) {
    const shard = shardOf[i] as number;
    if (shard === REFUSED) continue;
    const task = tasks[shard] as ProcessTask;
    const k = filled[shard] as number;
    filled[shard] = k + 1;
    task.records[k] = i;
    task.starts[k] = at[i] as number;
    task.ends[k] = (at[i] as number) + (values[i] as Buffer).length;
    task.defaultTs[k] = timestamps[i] as number;
  }
  const parts: ShardPart[] = [];
  tasks.forEach((task, shard) => {
    if (task.records.length > 0) parts.push({ shard, count: task.records.length, task });
  });
  return parts;
}

function sameBytes(key: Buffer, value: Buffer, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let k = 0; k < key.length; k++) if (key[k] !== value[start + k]) return false;
  return true;
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

/** The zone_id of each record of a task, in task order (an empty string for a record that has none: its worker rejects it). */
export function zoneIdsOf(task: ProcessTask): string[] {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const span: ZoneIdSpan = { start: 0, end: 0 };
  return Array.from(task.starts, (start, k) => {
    const end = task.ends[k] as number;
    if (findZoneId(bytes, start, end, span)) return bytes.toString('utf8', span.start, span.end);
    return zoneIdByParsing(bytes.subarray(start, end)) ?? '';
  });
}
