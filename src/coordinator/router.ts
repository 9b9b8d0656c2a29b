import { type PackedRecords, packedRecords } from '../io/packed-records.js';
import type { SourceBatch } from '../io/types.js';
import type { ProcessTask } from '../protocol/messages.js';
import { hashBytes, hashString } from '../sharding/hash.js';
import type { HashRing } from '../sharding/ring.js';
import { findZoneId, findZoneIdWithoutEscapes, hasBackslash, type ZoneIdSpan } from '../sharding/route-hint.js';

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
 * Decides which shard owns each record by the zone_id in its text: found
 * without parsing where it plainly can be (route-hint.ts), parsed otherwise.
 * Keys are never trusted for routing (a producer may key by device, or not
 * at all); they are only compared with the zone_id, because per-zone order
 * exists only when a zone's readings share a partition.
 *
 * Every shard's task reads the batch's packed bytes (packed-records.ts,
 * shared memory), each with the spans of its own records: no copy per record
 * and none per shard, and nothing to transfer.
 */
export class Router {
  private readonly span: ZoneIdSpan = { start: 0, end: 0 };

  constructor(
    private readonly ring: HashRing,
    private readonly requireZoneKey: boolean,
  ) {}

  route(batch: SourceBatch): RoutedBatch {
    const packed = packedRecords(batch);
    const { bytes, valueStarts, valueEnds, keyStarts, keyEnds } = packed;
    // The bytes as text, made for the first record that is parsed (rare).
    let text: Buffer | undefined;
    // Keys are compared only where the source has them (Kafka): a source without keys has none to mismatch.
    const keyed = !('keys' in batch) || batch.keys !== null;
    // No backslash in the whole batch (one native search), as is usual: keys are searched for by skips.
    const plain = !hasBackslash(bytes);
    const n = valueStarts.length;
    const shardOf = new Int32Array(n);
    const counts = new Uint32Array(this.ring.shards);
    const refused: number[] = [];
    let keyMismatches = 0;
    for (let i = 0; i < n; i++) {
      const from = valueStarts[i] as number;
      const to = valueEnds[i] as number;
      const keyStart = keyStarts[i] as number;
      let hash: number;
      let keyMatches = true;
      if (plain ? findZoneIdWithoutEscapes(bytes, from, to, this.span) : findZoneId(bytes, from, to, this.span)) {
        const { start, end } = this.span;
        hash = hashBytes(bytes, start, end);
        if (keyed) keyMatches = keyStart >= 0 && sameBytes(bytes, keyStart, keyEnds[i] as number, start, end);
      } else {
        // Escapes or an odd layout (rare): parse. Not a reading at all: any shard, whose worker rejects it.
        text ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const zoneId = zoneIdByParsing(text.subarray(from, to));
        hash = hashString(zoneId ?? '');
        if (keyed && zoneId !== undefined) keyMatches = keyStart >= 0 && text.toString('utf8', keyStart, keyEnds[i]) === zoneId;
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
    return { parts: packTasks(batch, packed, shardOf, counts), keyMismatches, refused };
  }
}

/** One task per shard with records, all reading the batch's packed bytes. */
function packTasks(batch: SourceBatch, packed: PackedRecords, shardOf: Int32Array, counts: Uint32Array): ShardPart[] {
  const { timestamps } = batch;
  const { bytes, valueStarts, valueEnds } = packed;
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
  for (let i = 0; i < shardOf.length; i++) {
    const shard = shardOf[i] as number;
    if (shard === REFUSED) continue;
    const task = tasks[shard] as ProcessTask;
    const k = filled[shard] as number;
    filled[shard] = k + 1;
    task.records[k] = i;
    task.starts[k] = valueStarts[i] as number;
    task.ends[k] = valueEnds[i] as number;
    task.defaultTs[k] = timestamps[i] as number;
  }
  const parts: ShardPart[] = [];
  tasks.forEach((task, shard) => {
    if (task.records.length > 0) parts.push({ shard, count: task.records.length, task });
  });
  return parts;
}

/** Whether bytes[keyStart, keyEnd) and bytes[start, end) are the same bytes. */
function sameBytes(bytes: Uint8Array, keyStart: number, keyEnd: number, start: number, end: number): boolean {
  if (keyEnd - keyStart !== end - start) return false;
  for (let k = 0; k < end - start; k++) if (bytes[keyStart + k] !== bytes[start + k]) return false;
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
