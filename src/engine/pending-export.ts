import type { RuleIds } from '../model/plan.js';
import type { PartitionUpdates } from '../protocol/messages.js';
import { UpdatePacker } from './zone-image.js';
import type { ZoneState } from './zone-state.js';

/** Zones exported between two looks at the clock (a zone costs tens of µs). */
const ZONES_PER_CLOCK = 32;

/**
 * One cut's export, done a slice at a time so that the batches queued behind
 * it do not wait for all of it (measured: exporting 5,000 changed zones held
 * a worker 50–250 ms, and every batch queued behind waited that long).
 *
 * The cut is fixed when the export begins: it lists the zones to export and
 * flags them. A zone keeps its state as of the cut until it is exported, since
 * whatever would change it first exports it: a reading (Shard.process, copy on
 * write) or any other task that changes zones (the task handler finishes the
 * export first). So the export holds every zone as it was at the cut, however
 * many batches run between its slices.
 */
export class PendingExport {
  private readonly packers = new Map<number, UpdatePacker>();
  private readonly zoneIds: string[] = [];
  private readonly zones: ZoneState[] = [];
  private next = 0;

  constructor(
    /** The cut's number: exported zones remember it (tiering evicts a zone only once its export is saved). */
    readonly cut: number,
    /** Partitions written whole: every zone of theirs goes, changed or not. */
    private readonly full: ReadonlySet<number>,
    private readonly ids: RuleIds,
  ) {}

  /** At the cut: lists the zone when the cut must export it (it changed, or it goes whole). */
  consider(zoneId: string, zone: ZoneState): void {
    if (!zone.dirty && !this.whole(zone)) return;
    zone.exportPending = true;
    this.zoneIds.push(zoneId);
    this.zones.push(zone);
  }

  /** Exports the zone now if the cut holds it and has not exported it yet (before anything changes it). */
  exportZone(zoneId: string, zone: ZoneState): void {
    if (!zone.exportPending) return;
    zone.exportPending = false;
    let packer = this.packers.get(zone.partition);
    if (packer === undefined) {
      packer = new UpdatePacker();
      this.packers.set(zone.partition, packer);
    }
    packer.add(zoneId, zone, this.whole(zone), this.ids);
    zone.markSnapshotted();
    zone.exportedAt = this.cut;
  }

  /** Exports listed zones for about `budgetMs` (Infinity: all of them); true once every one is exported. */
  exportFor(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    while (this.next < this.zones.length) {
      const end = Math.min(this.zones.length, this.next + ZONES_PER_CLOCK);
      for (; this.next < end; this.next++) this.exportZone(this.zoneIds[this.next] as string, this.zones[this.next] as ZoneState);
      if (performance.now() >= until) break;
    }
    return this.next >= this.zones.length;
  }

  /** Every partition's updates; call once exportFor returned true. */
  finish(): PartitionUpdates[] {
    return [...this.packers].map(([partition, packer]) => ({ partition, zones: packer.zones, bytes: packer.bytes, chunks: packer.finish() }));
  }

  private whole(zone: ZoneState): boolean {
    return !zone.stored || this.full.has(zone.partition);
  }
}
