import { randomUUID } from 'node:crypto';
import type { RuleVersion } from '../config/types.js';
import type { AlertStatus } from '../model/alert.js';
import type { AlertRule, WindowPlan } from '../model/plan.js';
import type { Reading } from '../model/reading.js';
import type { FiringRule, HotZonesResult, ProcessResult, ProcessTask, RulesResult, ShardSetup, SnapshotResult, ZoneHistory } from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';
import { formatAlert } from './alert.js';
import { applyReading } from './evaluate.js';
import { hotZones } from './hot-zones.js';
import { planWindow } from './plan.js';
import { isRejection } from './reading.js';
import { RecordReading, readRecord } from './reading-scan.js';
import { RuleBook } from './rule-book.js';
import { firingStates } from './rule-state.js';
import { UpdatePacker, zoneFromImage } from './zone-image.js';
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
  readonly incarnation = randomUUID();
  private readonly ring: HashRing;
  private readonly shard: number;
  private accepted = 0;
  /** The largest ts evaluated so far: a version arriving at or before it is late (contract §7.5). */
  private maxTs = -1;
  /** The record being processed, as a reading (one per shard, reused). */
  private readonly reading = new RecordReading();

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
    for (let i = 0; i < task.ends.length; i++) {
      const start = task.starts[i] as number;
      const end = task.ends[i] as number;
      const defaultTs = task.defaultTs[i] as number;
      const parsed = readRecord(bytes, start, end, defaultTs, reading);
      if (isRejection(parsed)) {
        result.rejected.push({ record: task.records[i] as number, reason: parsed });
        continue;
      }
      let zone = this.zones.get(parsed.zoneId);
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
  snapshot(fullPartitions: readonly number[]): SnapshotResult {
    const full = new Set(fullPartitions);
    const packers = new Map<number, UpdatePacker>();
    for (const [zoneId, zone] of this.zones) {
      const whole = !zone.stored || full.has(zone.partition);
      if (!zone.dirty && !whole) continue;
      let packer = packers.get(zone.partition);
      if (packer === undefined) {
        packer = new UpdatePacker();
        packers.set(zone.partition, packer);
      }
      packer.add(zoneId, zone, whole, this.book);
      zone.markSnapshotted();
    }
    const partitions = [...packers].map(([partition, packer]) => ({ partition, zones: packer.zones, bytes: packer.bytes, chunks: packer.finish() }));
    return { kind: 'snapshot', partitions };
  }

  /** Zones from a snapshot: they replace whatever this worker holds under the same ids. */
  restore(zoneIds: readonly string[], images: readonly Uint8Array[]): void {
    zoneIds.forEach((zoneId, i) => {
      this.zones.set(zoneId, zoneFromImage(zoneId, images[i] as Uint8Array, this.window, this.book));
    });
  }

  drop(partitions: readonly number[]): void {
    const gone = new Set(partitions);
    for (const [zoneId, zone] of this.zones) if (gone.has(zone.partition)) this.zones.delete(zoneId);
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

  /** Bytes of typed-array state per zone (what the ArrayBuffer holds, not the Map overhead). */
  get bytesPerZone(): number {
    const first = this.zones.values().next().value as ZoneState | undefined;
    return first?.buffer.byteLength ?? 0;
  }
}
