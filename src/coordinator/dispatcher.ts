import { recordValue } from '../io/packed-records.js';
import type { BatchOutputs, SourceBatch } from '../io/types.js';
import { logger } from '../log.js';
import type { ProcessResult } from '../protocol/messages.js';
import { deadLetter } from './dead-letter.js';
import { KEY_REASON, type Router, type ShardPart, zoneIdsOf } from './router.js';
import type { Shards } from './shards.js';
import type { RunStats } from './stats.js';
import type { Reload, ZoneTier } from './tiering.js';

const log = logger('dispatcher');

/** A batch handed to the workers: queued once `queued` resolves, done once `outputs` does. */
export interface Dispatch {
  queued: Promise<void>;
  outputs: Promise<BatchOutputs>;
}

/**
 * Routes a batch, queues its parts at their workers and gathers what they
 * return. Parts are queued one after another, each waiting for room at its
 * worker; the caller queues the next batch only once `queued` resolves, which
 * is what keeps each shard's tasks (and so each zone's readings) in source order.
 */
export class Dispatcher {
  constructor(
    private readonly shards: Shards,
    private readonly router: Router,
    private readonly stats: RunStats,
    /** Tiering: zones evicted to the store are reloaded ahead of the reading that needs them. */
    private readonly tier?: ZoneTier,
  ) {}

  /**
   * `replayed`: how many leading records only rebuild state (their output was
   * written before a restart). `owned()` is asked right before each part is
   * queued, with no await in between: a partition revoked meanwhile has had
   * its zones dropped at the workers, and its records processed after that
   * would rebuild them from nothing.
   */
  dispatch(batch: SourceBatch, replayed: number, owned: () => boolean): Dispatch {
    const routed = this.router.route(batch);
    if (routed.keyMismatches > 0 && this.stats.keyMismatch(batch.partition, routed.keyMismatches)) {
      log.warn(
        { partition: batch.partition },
        'records whose key is not their zone_id: per-zone order, and so the alerts, are defined only when readings are keyed by zone_id (klaxon produce does that)',
      );
    }
    const outputs: BatchOutputs = { alerts: [], deadLetters: [], shadow: [], replayedAlerts: [] };
    for (const index of routed.refused) {
      if (index < replayed) continue;
      this.stats.reject(KEY_REASON);
      outputs.deadLetters.push(deadLetter(KEY_REASON, recordValue(batch, index), batch.position(index)));
    }
    const results: Array<Promise<void>> = [];
    // Tiering: evicted zones of this batch read back so far, and the zone ids of its records (decoded once needed).
    let read: Reload | undefined;
    let batchZoneIds: string[] | undefined;
    const queued = (async () => {
      for (const part of routed.parts) {
        const runner = this.shards.runner(part.shard);
        await runner.room();
        // Tiering: the part's evicted zones are read back and queued ahead of it, those of the whole batch in one read
        // per partition. No await between the last look at what is evicted and the queuing: an eviction answered
        // meanwhile would leave a zone neither in memory nor read back.
        let zoneIds: string[] | undefined;
        if (this.tier !== undefined && this.tier.size > 0) {
          zoneIds = zoneIdsOf(part.task);
          batchZoneIds ??= routed.parts.flatMap((each) => (each === part ? (zoneIds as string[]) : zoneIdsOf(each.task)));
          read ??= new Map();
          while (this.tier.uncovered(zoneIds, read)) read = await this.tier.extend(batchZoneIds, read);
        }
        if (!owned()) {
          // Revoked, or given up by the tier while it read (its snapshot in the store was not this process's).
          this.stats.discarded += part.count;
          continue;
        }
        const restore = zoneIds === undefined || read === undefined ? undefined : this.tier?.queued(part.shard, read, zoneIds);
        if (restore !== undefined) results.push(runner.run(restore, [restore.images.buffer as ArrayBuffer]).then(() => {}));
        results.push(runner.run<ProcessResult>(part.task).then((result) => this.collect(batch, replayed, part, result, outputs)));
      }
    })();
    return { queued, outputs: queued.then(() => Promise.all(results)).then(() => outputs) };
  }

  private collect(batch: SourceBatch, replayed: number, part: ShardPart, result: ProcessResult, outputs: BatchOutputs): void {
    const { stats } = this;
    stats.setZones(part.shard, result.zones);
    stats.accepted += result.accepted;
    if (result.maxTs > stats.maxTs) stats.maxTs = result.maxTs;
    for (const { record, reason } of result.rejected) {
      if (record < replayed) continue;
      stats.reject(reason);
      outputs.deadLetters.push(deadLetter(reason, recordValue(batch, record), batch.position(record)));
    }
    for (const alert of result.alerts) {
      if (alert.record < replayed) {
        stats.suppressed++;
        outputs.replayedAlerts.push({ key: alert.zoneId, value: alert.text });
        continue;
      }
      if (alert.shadow) {
        stats.shadowAlerts++;
        outputs.shadow.push({ key: alert.zoneId, value: alert.text });
        continue;
      }
      if (alert.firing) stats.firing++;
      else stats.resolved++;
      outputs.alerts.push({ key: alert.zoneId, value: alert.text });
    }
    if (replayed > 0) stats.replayed += part.task.records.filter((index) => index < replayed).length;
  }
}
