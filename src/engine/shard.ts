import { randomUUID } from 'node:crypto';
import type { RuleVersion } from '../config/types.js';
import type { AlertStatus } from '../model/alert.js';
import type { AlertRule, WindowPlan } from '../model/plan.js';
import type { Reading } from '../model/reading.js';
import type {
  EvictedResult,
  FiringRule,
  HotZonesResult,
  ProcessResult,
  ProcessTask,
  ReleasedResult,
  RulesResult,
  ShardSetup,
  SnapshotResult,
  ZoneHistory,
} from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';
import { formatAlert } from './alert.js';
import { applyReading } from './evaluate.js';
import { hotZones } from './hot-zones.js';
import { PendingExport } from './pending-export.js';
import { planWindow } from './plan.js';
import { isRejection } from './reading.js';
import { RecordReading, readRecord } from './reading-scan.js';
import { RuleBook } from './rule-book.js';
import { firingStates, isFiring } from './rule-state.js';
import { zoneFromImage } from './zone-image.js';
import { ZoneState } from './zone-state.js';
import { summarizeZone } from './zone-summary.js';

/**
 * The zones one worker owns and the work done on them. Transport-free: the
 * worker thread wraps it, and tests drive it in-process.
 */
export class Shard {
  readonly window: WindowPlan;
  readonly book: RuleBook;
  readonly zones = new Map<string, ZoneState>();
  /**
   * Zones an evict task set aside (tiering), until their release: a reading
   * queued before the coordinator knew of the eviction brings its zone back.
   */
  private readonly evicting = new Map<string, ZoneState>();
  /** Process tasks so far: the clock of `ZoneState.lastUsed`. */
  private tasks = 0;
  readonly incarnation = randomUUID();
  private readonly ring: HashRing;
  private readonly shard: number;
  private accepted = 0;
  /** The largest ts evaluated so far: a version arriving at or before it is late (contract §7.5). */
  private maxTs = -1;
  /** The record being processed, as a reading (one per shard, reused). */
  private readonly reading = new RecordReading();
  /** The cut being exported a slice at a time, until its updates are collected. */
  private exporting: PendingExport | undefined;

  constructor(setup: ShardSetup) {
    this.window = planWindow(setup.rules.window);
    this.book = new RuleBook(setup.rules.versions, setup.rules.window.paneMs);
    this.ring = new HashRing(setup.shards, setup.virtualNodes);
    this.shard = setup.shard;
  }

  process(task: ProcessTask): ProcessResult {
    const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
    const result: ProcessResult = { kind: 'processed', alerts: [], rejected: [], accepted: 0, zones: 0, maxTs: -1, incarnation: this.incarnation };
    let current = 0;
    const emit = (reading: Reading, seq: number, rule: AlertRule, status: AlertStatus, details: Record<string, number>, removed: boolean) => {
      result.alerts.push({
        record: current,
        zoneId: reading.zoneId,
        firing: status === 'firing',
        shadow: rule.shadow,
        text: formatAlert(reading, seq, rule, status, details, removed),
      });
    };
    let maxTs = this.maxTs;
    const reading = this.reading;
    const now = ++this.tasks;
    for (let i = 0; i < task.ends.length; i++) {
      const start = task.starts[i] as number;
      const end = task.ends[i] as number;
      const defaultTs = task.defaultTs[i] as number;
      const parsed = readRecord(bytes, start, end, defaultTs, reading);
      if (isRejection(parsed)) {
        result.rejected.push({ record: task.records[i] as number, reason: parsed });
        continue;
      }
      let zone = this.zones.get(parsed.zoneId) ?? this.reclaim(parsed.zoneId);
      // Copy on write: a zone the cut being exported still holds goes into the export as it was, before this reading.
      if (zone?.exportPending) this.exporting?.exportZone(parsed.zoneId, zone);
      if (zone === undefined) {
        // Checked once, when a zone is first seen: state is only ever created by its owner. The coordinator
        // routes by the zone_id in the record's text, so a miss here is a routing bug, never bad input.
        if (this.ring.ownerOf(parsed.zoneId) !== this.shard) {
          throw new Error(`worker ${this.shard} got a reading of zone ${JSON.stringify(parsed.zoneId)}, which worker ${this.ring.ownerOf(parsed.zoneId)} owns`);
        }
        zone = new ZoneState(this.window);
        this.zones.set(parsed.zoneId, zone);
      }
      current = task.records[i] as number;
      if (zone.partition !== task.partition) {
        // Its records moved partition: the new partition's snapshot has no image of it yet.
        zone.partition = task.partition;
        zone.stored = false;
      }
      zone.lastUsed = now;
      applyReading(zone, parsed, this.window, this.book, emit);
      if (parsed.ts > maxTs) maxTs = parsed.ts;
      result.accepted++;
    }
    this.accepted += result.accepted;
    this.maxTs = maxTs;
    result.maxTs = maxTs;
    result.zones = this.zones.size;
    return result;
  }

  /**
   * A new version of the rule set: readings from now on with ts at or past
   * its effectiveFrom are evaluated under it. Late when this worker already
   * evaluated such a reading (that one stays judged by the older version).
   */
  addVersion(version: RuleVersion): RulesResult {
    const added = this.book.add(version);
    return { kind: 'rules', added, late: added && this.maxTs >= version.effectiveFrom };
  }

  /**
   * Packs what changed since the last snapshot, per partition: zones the store
   * does not hold yet go whole, the others as the byte ranges that changed;
   * every zone of `fullPartitions` goes whole. Then forgets the changes.
   */
  snapshot(fullPartitions: readonly number[], cut = 0): SnapshotResult {
    this.beginSnapshot(fullPartitions, cut);
    return this.continueSnapshot(Number.POSITIVE_INFINITY);
  }

  /**
   * Fixes a cut here, as snapshot() does, but exports nothing yet:
   * continueSnapshot() exports a slice at a time, and a reading of a zone not
   * yet exported exports it first, so the export is of the zones as they were
   * now whatever runs between its slices.
   */
  beginSnapshot(fullPartitions: readonly number[], cut = 0): void {
    if (this.exporting !== undefined) throw new Error(`worker ${this.shard}: cut ${cut} began before cut ${this.exporting.cut}'s export was collected`);
    const full = new Set(fullPartitions);
    const pending = new PendingExport(cut, full, this.book);
    for (const [zoneId, zone] of this.zones) pending.consider(zoneId, zone);
    // Zones set aside are unchanged, but a partition written whole needs them too.
    if (full.size > 0) for (const [zoneId, zone] of this.evicting) pending.consider(zoneId, zone);
    this.exporting = pending;
  }

  /** Exports the begun cut for about `budgetMs`: its updates once all of it is exported (done), else none yet. */
  continueSnapshot(budgetMs: number): SnapshotResult {
    const pending = this.exporting;
    if (pending === undefined) throw new Error(`worker ${this.shard}: no cut is being exported`);
    if (!pending.exportFor(budgetMs)) return { kind: 'snapshot', partitions: [], done: false };
    this.exporting = undefined;
    return { kind: 'snapshot', partitions: pending.finish(), done: true };
  }

  /**
   * Exports the rest of the begun cut now (its updates wait for the next
   * continueSnapshot): before a task that changes zones other than by a
   * reading (restore, drop, evict, release, a new rule version).
   */
  settleExport(): void {
    this.exporting?.exportFor(Number.POSITIVE_INFINITY);
  }

  /**
   * Zones from a snapshot: they replace whatever this worker holds under the
   * same ids, except with `ifAbsent` (reloads of evicted zones), where a zone
   * the worker holds is newer than the store's image and is kept.
   */
  restore(zoneIds: readonly string[], images: readonly Uint8Array[], ifAbsent = false): void {
    zoneIds.forEach((zoneId, i) => {
      if (ifAbsent && (this.zones.has(zoneId) || this.reclaim(zoneId) !== undefined)) return;
      const zone = zoneFromImage(zoneId, images[i] as Uint8Array, this.window, this.book);
      this.zones.get(zoneId)?.release();
      this.zones.set(zoneId, zone);
      // A copy set aside for eviction is replaced too: left there, a later eviction of the restored zone would
      // overwrite it without giving its places back.
      const setAside = this.evicting.get(zoneId);
      if (setAside !== undefined) {
        this.evicting.delete(zoneId);
        setAside.release();
      }
    });
  }

  drop(partitions: readonly number[]): void {
    const gone = new Set(partitions);
    for (const zones of [this.zones, this.evicting]) {
      for (const [zoneId, zone] of zones) {
        if (!gone.has(zone.partition)) continue;
        zones.delete(zoneId);
        zone.release();
      }
    }
  }

  /**
   * Beyond `keep` zones, sets aside the least recently used zones of the
   * partitions that the store holds exactly as they are (unchanged since an
   * export of a cut that was saved, `savedCuts[i]` for `partitions[i]`) and
   * that FIRE no live rule (an Alertmanager's re-send loop reads those from
   * memory).
   */
  evict(partitions: readonly number[], savedCuts: readonly number[], keep: number): EvictedResult {
    const result: EvictedResult = { kind: 'evicted', zoneIds: [], partitions: [], zones: this.zones.size };
    const excess = this.zones.size - keep;
    if (excess <= 0) return result;
    const saved = new Map(partitions.map((partition, i) => [partition, savedCuts[i] ?? -1]));
    const candidates: Array<[string, ZoneState]> = [];
    for (const entry of this.zones) {
      const zone = entry[1];
      if (zone.stored && !zone.dirty && zone.exportedAt <= (saved.get(zone.partition) ?? -1) && !isFiring(zone)) candidates.push(entry);
    }
    candidates.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [zoneId, zone] of candidates.slice(0, excess)) {
      this.zones.delete(zoneId);
      this.evicting.set(zoneId, zone);
      result.zoneIds.push(zoneId);
      result.partitions.push(zone.partition);
    }
    result.zones = this.zones.size;
    return result;
  }

  /** Forgets zones set aside; those a reading brought back meanwhile are named in the answer. */
  release(zoneIds: readonly string[]): ReleasedResult {
    const reclaimed: string[] = [];
    for (const zoneId of zoneIds) {
      const zone = this.evicting.get(zoneId);
      if (zone === undefined) {
        reclaimed.push(zoneId);
        continue;
      }
      this.evicting.delete(zoneId);
      zone.release();
    }
    return { kind: 'released', reclaimed };
  }

  /** A zone set aside and not yet released, back in memory (undefined: none). */
  private reclaim(zoneId: string): ZoneState | undefined {
    const zone = this.evicting.get(zoneId);
    if (zone === undefined) return undefined;
    this.evicting.delete(zoneId);
    this.zones.set(zoneId, zone);
    return zone;
  }

  get acceptedTotal(): number {
    return this.accepted;
  }

  /** A zone's latest `limit` values (oldest first) with its mean, σ and firing rules; null for an unknown zone. */
  zoneHistory(zoneId: string, limit: number): ZoneHistory | null {
    const zone = this.zones.get(zoneId);
    return zone === undefined ? null : summarizeZone(zoneId, zone, this.book, limit);
  }

  /** At most `limit` zones for an overview: firing ones first, then the hottest by latest temperature. */
  hotZones(limit: number): HotZonesResult {
    return hotZones(this.zones, this.book, limit);
  }

  /** Every rule FIRING in the zones of `partitions` (read from the zones' flags; changes nothing). */
  firing(partitions: readonly number[]): FiringRule[] {
    const wanted = new Set(partitions);
    const out: FiringRule[] = [];
    for (const [zoneId, zone] of this.zones) {
      if (!wanted.has(zone.partition)) continue;
      // Shadow rules page nobody: only the live ones are kept active in Alertmanager.
      for (const { id, type, severity } of firingStates(zone, this.book)) out.push({ zoneId, rule: id, type, severity, seq: zone.seq });
    }
    return out;
  }

  /** Bytes of statistics per zone (their places in the shared slabs, not the objects around them): the mean over the first 1,000 zones. */
  get bytesPerZone(): number {
    let bytes = 0;
    let zones = 0;
    for (const zone of this.zones.values()) {
      bytes += zone.bytes;
      if (++zones === 1_000) break;
    }
    return zones === 0 ? 0 : bytes / zones;
  }
}
