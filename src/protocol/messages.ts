/**
 * Every message between the coordinator and a shard worker. One task type per
 * `kind`; the worker switches on it exhaustively. Typed arrays and buffers
 * travel by structured clone (moved where the sender gives them up).
 */
import type { RulesConfig, RuleVersion } from '../config/types.js';
import type { AlertRule } from '../model/plan.js';

/** What a worker is started with (piscina `workerData`). */
export interface ShardSetup {
  shard: number;
  shards: number;
  virtualNodes: number;
  /** The window, and the rule set versions known at start (later ones come as RulesTasks). */
  rules: RulesConfig;
  /** Present for a backtest's workers (`klaxon backtest`): they run BacktestTasks only, with `rules` as the candidate. */
  backtest?: BacktestSetup;
}

/** What a backtest's worker needs besides the candidate rule set. */
export interface BacktestSetup {
  /** The baseline's versions, evaluated over the same zone statistics with rule states of their own; absent: the candidate alone. */
  baseline?: RuleVersion[];
  /** Readings with ts outside [from, until) are left out, as if absent (±Infinity: no bound). */
  from: number;
  until: number;
  /** Readings before this ts only build statistics (warm-up): their alerts are not wanted. */
  countFrom: number;
  /** Only zones matching one of these globs are evaluated; absent: every zone. */
  zones?: string[];
}

/**
 * A batch of raw records for one shard: record i is bytes[starts[i] ..
 * ends[i]). The coordinator's bytes are a SharedArrayBuffer that every
 * shard's task of one source batch reads (read only), holding the other
 * shards' records too.
 */
export interface ProcessTask {
  kind: 'process';
  /** Each record's index in its source batch (results name records by it). */
  records: Uint32Array;
  /** Source partition of every record in the task (zones remember it for snapshots). */
  partition: number;
  bytes: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
  /** The ts a record without one gets (record timestamp or read time). */
  defaultTs: Float64Array;
}

export interface StatsTask {
  kind: 'stats';
}

/**
 * Export what changed since the last snapshot (and forget it: the next
 * export starts from here), or every zone of some partitions whole.
 */
export interface SnapshotTask {
  kind: 'snapshot';
  /** Every zone of these partitions, whole (the store lost them, or lost an update). */
  fullPartitions: number[];
  /** The cut's number (1, 2, ...): each exported zone remembers it, and tiering evicts only zones whose export was saved. */
  cut: number;
  /**
   * Export about this long, then answer (not done); snapshotSlice tasks export
   * the rest, a slice each, while batches run between them. Absent: all at once.
   */
  sliceMs?: number;
}

/** The next slice of the cut a snapshot task began: about `sliceMs` of exporting; the updates with the last slice. */
export interface SnapshotSliceTask {
  kind: 'snapshotSlice';
  sliceMs: number;
}

/**
 * Zones from a snapshot: their ids, and their images packed one after
 * another in one buffer (moved, not copied, to the worker): image i is
 * images[ends[i-1] .. ends[i]). They replace whatever the worker holds under
 * the same ids.
 */
export interface RestoreTask {
  kind: 'restore';
  zoneIds: string[];
  images: Uint8Array;
  ends: Uint32Array;
  /**
   * Reloads of evicted zones (state.maxZonesInMemory): a zone the worker
   * holds is kept, not replaced (it came back before its release, and what
   * the worker holds is newer than the store's image).
   */
  ifAbsent?: boolean;
}

/**
 * Tiering (state.maxZonesInMemory): beyond `keep` zones, set aside the least
 * recently used zones of `partitions` that are safe in the store (unchanged
 * since an export of a cut that was saved) and not FIRING. Set aside, not yet forgotten: a
 * reading already on its way brings a zone back, until its release.
 */
export interface EvictTask {
  kind: 'evict';
  /** Partitions whose snapshot was saved, each with the number of the last cut saved (0: only what was restored). */
  partitions: number[];
  savedCuts: number[];
  keep: number;
}

/** Forget the zones set aside by an evict task, once the coordinator knows them as evicted. */
export interface ReleaseTask {
  kind: 'release';
  zoneIds: string[];
}

/** Forget the zones of partitions this process no longer owns. */
export interface DropTask {
  kind: 'drop';
  partitions: number[];
}

/** One zone's recent readings and statistics, for the dashboard's zone chart. */
export interface ZoneHistoryTask {
  kind: 'zoneHistory';
  zoneId: string;
  /** At most this many of the latest values (the history holds up to W). */
  limit: number;
}

/** The zones worth showing first: firing ones, then the hottest by latest temperature. */
export interface HotZonesTask {
  kind: 'hotZones';
  limit: number;
}

/**
 * A new version of the rule set, after the latest (contract §7.5): queued at
 * every worker behind the batches already queued there.
 */
export interface RulesTask {
  kind: 'rules';
  version: RuleVersion;
}

/**
 * Every rule FIRING in the zones of some partitions, as their flags say now
 * (queued behind the batches already sent, so it sees their readings): what an
 * Alertmanager re-sends after a restart.
 */
export interface FiringTask {
  kind: 'firing';
  partitions: number[];
}

/** A batch of a backtest: the records of a ProcessTask, evaluated under the candidate and the baseline rule sets. */
export interface BacktestTask extends Omit<ProcessTask, 'kind'> {
  kind: 'backtest';
  /** The records only build statistics (a Kafka backtest's warm-up offsets): no alert of theirs is wanted. */
  warmup: boolean;
}

export type ShardTask =
  | ProcessTask
  | StatsTask
  | SnapshotTask
  | SnapshotSliceTask
  | RestoreTask
  | DropTask
  | EvictTask
  | ReleaseTask
  | ZoneHistoryTask
  | HotZonesTask
  | RulesTask
  | FiringTask
  | BacktestTask;

/** One alert as a worker emits it. */
export interface EmittedAlert {
  /** The source-batch index of the record that raised it. */
  record: number;
  /** Its zone: the Kafka key it is written with. */
  zoneId: string;
  firing: boolean;
  /** A shadow rule's alert: it goes to the shadow output, never to the alerts sink. */
  shadow: boolean;
  /** The alert object of contract §4 as JSON text. */
  text: string;
}

/** A record that is not a valid reading, and why (the dead letter's reason). */
export interface Rejection {
  /** The record's index in its source batch. */
  record: number;
  reason: string;
}

export interface ProcessResult {
  kind: 'processed';
  /** In emission order: reading order, then rule order. */
  alerts: EmittedAlert[];
  rejected: Rejection[];
  accepted: number;
  zones: number;
  /** The largest ts this worker has evaluated so far (-1: none): which version is in force for the stream. */
  maxTs: number;
  /** Random per thread start: a change means the worker was replaced and lost its state. */
  incarnation: string;
}

export interface StatsResult {
  kind: 'stats';
  zones: number;
  accepted: number;
  bytesPerZone: number;
  heapUsed: number;
  /** Bytes of ArrayBuffers this thread holds (zone state lives there, outside the V8 heap). */
  arrayBuffers: number;
  incarnation: string;
}

/** One partition's zone updates, packed by the codec into chunks the store applies one at a time. */
export interface PartitionUpdates {
  partition: number;
  zones: number;
  /** Bytes of state written (images and changed ranges), before framing. */
  bytes: number;
  chunks: Uint8Array[];
}

export interface SnapshotResult {
  kind: 'snapshot';
  /** Every partition's updates once the cut is exported (done); none before. */
  partitions: PartitionUpdates[];
  /** The whole cut is exported: false after a slice that left zones to export. */
  done: boolean;
}

export interface DoneResult {
  kind: 'done';
  zones: number;
}

/** Zones an evict task set aside, with the partition each is stored under. */
export interface EvictedResult {
  kind: 'evicted';
  zoneIds: string[];
  partitions: number[];
  /** Zones the worker holds after it. */
  zones: number;
}

/** Of a release's zones, those a reading brought back before it: they stay in memory. */
export interface ReleasedResult {
  kind: 'released';
  reclaimed: string[];
}

export interface ZoneHistory {
  zoneId: string;
  seq: number;
  /** Values in the history (≤ W); `values` holds the latest `values.length` of them, oldest first. */
  count: number;
  values: Float64Array;
  /** Over the whole history; null before the first reading. */
  mean: number | null;
  std: number | null;
  /** Rules FIRING in the zone (rule id order), shadow rules apart. */
  firing: string[];
  shadowFiring: string[];
}

export interface ZoneHistoryResult {
  kind: 'zoneHistory';
  zone: ZoneHistory | null;
}

export interface HotZone {
  zoneId: string;
  /** The zone's latest accepted temperature. */
  latest: number;
  seq: number;
  firing: string[];
}

export interface HotZonesResult {
  kind: 'hotZones';
  /** Firing zones first, then by latest temperature, highest first; at most the task's limit. */
  zones: HotZone[];
  /** Every zone of the shard, and how many have at least one rule firing. */
  total: number;
  firingZones: number;
}

export interface RulesResult {
  kind: 'rules';
  /** false: the worker knew the version already, or it does not come after the latest (nothing changed). */
  added: boolean;
  /** The worker had already evaluated a reading at or past the version's effectiveFrom: it applies from the next one. */
  late: boolean;
}

/** One rule FIRING in one zone. */
export interface FiringRule {
  zoneId: string;
  rule: string;
  /** The rule's type and severity when it fired (kept in the zone's rule state). */
  type: AlertRule['type'];
  severity: AlertRule['severity'];
  /** The zone's seq when asked: alerts of this zone with a seq up to it are already reflected. */
  seq: number;
}

export interface FiringResult {
  kind: 'firing';
  firing: FiringRule[];
}

/**
 * Buffers of a result that the worker gives up rather than copies: a
 * snapshot's chunks (hundreds of MB when zones are new) would otherwise be
 * cloned, and the worker's copies would linger until its next collection.
 */
export function transferablesOf(result: ShardResult): ArrayBuffer[] {
  if (result.kind !== 'snapshot') return [];
  // Only a chunk that is its buffer's only view: moving a shared buffer would take the others with it.
  const chunks = result.partitions.flatMap((part) => part.chunks);
  return chunks.every((chunk) => chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength)
    ? chunks.map((chunk) => chunk.buffer as ArrayBuffer)
    : [];
}

/** One alert of a backtest, with what the report needs of it already apart. */
export interface BacktestAlert {
  /** The source-batch index of the record that raised it. */
  record: number;
  /** Raised under the baseline rule set (otherwise the candidate). */
  baseline: boolean;
  /**
   * The other rule set raised the same alert for the same reading (same rule, status and removal: the same
   * alert_id and status): the alert is in both. A baseline alert with a twin has no text (its candidate twin has it).
   */
  twin: boolean;
  zoneId: string;
  rule: string;
  firing: boolean;
  /** A resolution because the rule state was dropped by a version change (`:removed`). */
  removed: boolean;
  /** The rule is in mode every (each firing reading alerts; no episode). */
  every: boolean;
  shadow: boolean;
  seq: number;
  ts: number;
  /** The alert object of contract §4 as JSON text. */
  text: string;
}

export interface BacktestResult {
  kind: 'backtested';
  /** In reading order; for one reading the candidate's alerts, then the baseline's, twins marked. */
  alerts: BacktestAlert[];
  rejected: Rejection[];
  /** Readings evaluated whose alerts count. */
  counted: number;
  /** Readings evaluated to build statistics only (warm-up). */
  warmup: number;
  /** Valid readings left out: ts outside the range, or a zone not asked for. */
  skipped: number;
  /** The smallest and largest ts of the counted readings (Infinity and -Infinity: none). */
  minTs: number;
  maxTs: number;
  zones: number;
}

export type ShardResult =
  | ProcessResult
  | StatsResult
  | SnapshotResult
  | DoneResult
  | EvictedResult
  | ReleasedResult
  | ZoneHistoryResult
  | HotZonesResult
  | RulesResult
  | FiringResult
  | BacktestResult;

export function assertNever(value: never): never {
  throw new Error(`unexpected message ${JSON.stringify(value)}`);
}

/** Restore tasks for the shards that own these zones (`ownerOf`), each with its zones' images packed into a buffer of its own. */
export function restoreTasks(
  shards: number,
  ownerOf: (zoneId: string) => number,
  zoneIds: readonly string[],
  images: readonly Uint8Array[],
): Array<{ shard: number; task: RestoreTask }> {
  const parts = Array.from({ length: shards }, () => ({ indices: [] as number[], bytes: 0 }));
  zoneIds.forEach((zoneId, i) => {
    const part = parts[ownerOf(zoneId)];
    part?.indices.push(i);
    if (part !== undefined) part.bytes += images[i]?.byteLength ?? 0;
  });
  const tasks: Array<{ shard: number; task: RestoreTask }> = [];
  parts.forEach(({ indices, bytes }, shard) => {
    if (indices.length === 0) return;
    const packed = new Uint8Array(bytes);
    const ends = new Uint32Array(indices.length);
    let at = 0;
    indices.forEach((index, k) => {
      const image = images[index] ?? new Uint8Array(0);
      packed.set(image, at);
      at += image.byteLength;
      ends[k] = at;
    });
    tasks.push({ shard, task: { kind: 'restore', zoneIds: indices.map((index) => zoneIds[index] ?? ''), images: packed, ends } });
  });
  return tasks;
}

/** The images of a RestoreTask, as views into its buffer. */
export function unpackImages(images: Uint8Array, ends: Uint32Array): Uint8Array[] {
  return Array.from(ends, (end, i) => images.subarray(i === 0 ? 0 : (ends[i - 1] as number), end));
}

/** A process task from text lines (tests, benchmarks, tools); the coordinator packs raw bytes itself. */
export function linesTask(lines: readonly string[], partition = 0, defaultTs = 0): ProcessTask {
  const bytes = Buffer.from(lines.join(''));
  let at = 0;
  const ends = Uint32Array.from(lines, (line) => (at += Buffer.byteLength(line)));
  const starts = Uint32Array.from(ends, (end, i) => end - Buffer.byteLength(lines[i] as string));
  const records = Uint32Array.from(lines, (_, i) => i);
  return { kind: 'process', partition, records, bytes, starts, ends, defaultTs: new Float64Array(lines.length).fill(defaultTs) };
}
