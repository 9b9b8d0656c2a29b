import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryStats } from '../delivery/stats.js';
import type { StatsResult } from '../protocol/messages.js';
import type { SeenAlert } from './alert-feed.js';
import { type EngineView, within } from './engine-view.js';

/** How long a scrape waits for a worker busy with batches before leaving its gauges as they were. */
const WORKER_ANSWER_MS = 1_000;
/** Rejections the pipeline did not classify (before it reports reasons) are counted under this reason. */
export const UNCLASSIFIED = 'unclassified';

/**
 * The engine's Prometheus metrics, one registry per engine (so tests can run
 * several in a process). Totals the pipeline already keeps (RunStats) are read
 * at scrape time and exported as counters by adding the change since the last
 * scrape; alerts, batch sizes and latencies are observed as they happen.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  private view: EngineView | undefined;
  private readonly alerts: Counter<'rule' | 'status' | 'shadow'>;
  private readonly batchRecords: Histogram;
  private readonly latency: Histogram;
  private readonly alertLatency: Histogram;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'klaxon_' });
    const stat = (read: (view: EngineView) => number | undefined) => () => (this.view === undefined ? undefined : read(this.view));
    this.totalFrom(
      'klaxon_readings_total',
      'Records read from the source (readings in, valid or not).',
      stat((v) => v.stats.records),
    );
    this.totalFrom(
      'klaxon_readings_accepted_total',
      'Readings that passed validation and updated their zone.',
      stat((v) => v.stats.accepted),
    );
    this.totalFrom(
      'klaxon_readings_replayed_total',
      'Records read again after a restart to rebuild state (no output).',
      stat((v) => v.stats.replayed),
    );
    this.totalFrom(
      'klaxon_readings_key_mismatch_total',
      'Records whose Kafka key is not their zone_id (or that have none): per-zone order holds only within a partition.',
      stat((v) => v.stats.keyMismatches),
    );
    this.totalFrom(
      'klaxon_alerts_suppressed_total',
      'Alerts of replayed records, not written again (they were written before the restart).',
      stat((v) => v.stats.suppressed),
    );
    this.totalFrom(
      'klaxon_batches_total',
      'Batches read from the source.',
      stat((v) => v.stats.batches),
    );
    this.totalFrom(
      'klaxon_batches_committed_total',
      'Batches committed to the source after their output was flushed.',
      stat((v) => v.stats.committedBatches),
    );
    this.rejectedByReason();
    this.gaugeFrom(
      'klaxon_zones',
      'Zones held by the workers.',
      stat((v) => v.stats.zones),
    );
    this.gaugeFrom('klaxon_ready', '1 once the engine runs with its partitions assigned and state restored.', () => (this.view?.ready() ? 1 : 0));
    this.gaugeFrom(
      'klaxon_rules_version',
      'The rule set version in force at the newest reading evaluated (absent before the first).',
      () => this.view?.rules().inForce,
    );
    this.gaugeFrom('klaxon_rules_latest_version', 'The latest rule set version this engine knows (it may take effect later).', () => this.view?.rules().latest);
    this.totalFrom(
      'klaxon_rules_late_total',
      'Rule set versions that arrived after readings at or past their effectiveFrom were evaluated (applied from the next reading; a replay could differ).',
      stat((v) => v.rules().late),
    );
    this.totalFrom(
      'klaxon_rules_refused_total',
      'Records of the rules channel refused: invalid, not after the latest version, or a known version changed.',
      stat((v) => v.rules().refused),
    );
    this.partitionLag();
    this.workerGauges();
    this.alerts = new Counter({
      name: 'klaxon_alerts_total',
      help: 'Alerts raised, by rule, status (firing or resolved) and shadow: "false" went to the alerts sink, "true" are shadow rules\' (the shadow output, never the alerts sink).',
      labelNames: ['rule', 'status', 'shadow'],
      registers,
    });
    this.batchRecords = new Histogram({
      name: 'klaxon_batch_records',
      help: 'Records per source batch.',
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
      registers,
    });
    this.latency = new Histogram({
      name: 'klaxon_processing_latency_seconds',
      help: 'Wall time from a batch being fetched from the source to all its alerts being handed to the sink.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.alertLatency = new Histogram({
      name: 'klaxon_alert_latency_seconds',
      help: "Wall time from an alert's reading being fetched from the source to the alert being handed to the sink (the engine's share of an alert's latency).",
      buckets: [0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  /** Starts reading a running engine (before: totals are absent, readiness 0). */
  attach(view: EngineView): void {
    this.view = view;
    // Only what this engine has: a source that cannot tell its lag, or no state store, exports no such series.
    // A partitioned source (Kafka) may not know its lag yet when the engine starts.
    if (view.lag() !== undefined || view.lagByPartition() !== undefined) {
      this.gaugeFrom('klaxon_source_lag_records', 'Records waiting behind the source position (consumer lag).', () => view.lag());
    }
    const tier = view.tierStats();
    if (tier !== undefined) {
      this.gaugeFrom('klaxon_zones_evicted', 'Zones kept only in the state store (tiering: state.maxZonesInMemory).', () => tier.evicted);
      this.totalFrom('klaxon_zone_evictions_total', 'Zones evicted from the workers to the state store.', () => tier.evictions);
      this.totalFrom('klaxon_zone_reloads_total', 'Evicted zones read back from the state store for a new reading.', () => tier.reloads);
      this.totalFrom(
        'klaxon_zone_partitions_lost_total',
        "Partitions recovered again because the store's snapshot of them was not this process's while some of their zones lived only there.",
        () => tier.partitionsLost,
      );
    }
    const snapshots = view.snapshotStats();
    if (snapshots !== undefined) {
      this.totalFrom('klaxon_snapshots_total', 'Checkpoints whose zone snapshot was saved to the state store.', () => snapshots.snapshots);
      this.totalFrom('klaxon_recoveries_total', 'Partitions whose state was restored from a snapshot.', () => snapshots.recoveries);
      this.totalFrom(
        'klaxon_snapshot_resyncs_total',
        'Snapshots rewritten in full because the store did not hold what was last written.',
        () => snapshots.resyncs,
      );
      const last = (read: () => number) => () => (snapshots.snapshots > 0 ? read() : undefined);
      this.gaugeFrom(
        'klaxon_snapshot_last_duration_seconds',
        'Duration of the latest snapshot save.',
        last(() => snapshots.lastMs / 1000),
      );
      this.gaugeFrom(
        'klaxon_snapshot_last_bytes',
        'Bytes of zone state written by the latest snapshot.',
        last(() => snapshots.lastBytes),
      );
      this.gaugeFrom(
        'klaxon_snapshot_last_zones',
        'Zones written by the latest snapshot.',
        last(() => snapshots.lastZones),
      );
    }
    this.deliveryMetrics(view.deliveries());
    view.stats.onBatchFinished((records, alerts, latencyMs) => {
      this.batchRecords.observe(records);
      this.latency.observe(latencyMs / 1000);
      for (let i = 0; i < alerts; i++) this.alertLatency.observe(latencyMs / 1000);
    });
  }

  /** Alerts as they reach the sink (AlertFeed listener). */
  readonly countAlerts = (alerts: readonly SeenAlert[]): void => {
    for (const alert of alerts) this.alerts.inc({ rule: alert.rule, status: alert.status, shadow: 'false' });
  };

  /** Shadow rules' alerts, parsed once by the caller (EngineHooks.onShadowAlerts). */
  readonly countShadowAlerts = (alerts: readonly SeenAlert[]): void => {
    for (const alert of alerts) this.alerts.inc({ rule: alert.rule, status: alert.status, shadow: 'true' });
  };

  text(): Promise<string> {
    return this.registry.metrics();
  }

  private totalFrom(name: string, help: string, read: () => number | undefined): void {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = read();
        if (value === undefined || value < last) return;
        this.inc(value - last);
        last = value;
      },
    });
  }

  private gaugeFrom(name: string, help: string, read: () => number | undefined): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = read();
        if (value === undefined) this.reset();
        else this.set(value);
      },
    });
  }

  /** Per delivery destination (label `sink`: the sink's name; `target`: scheme, host and port, never credentials). */
  private deliveryMetrics(targets: readonly DeliveryStats[]): void {
    if (targets.length === 0) return;
    const labelNames = ['sink', 'target'] as const;
    const registers = [this.registry];
    const labels = (stats: DeliveryStats) => ({ sink: stats.sink, target: stats.target });
    const total = (name: string, help: string, read: (stats: DeliveryStats) => number) => {
      const last = new Map<DeliveryStats, number>();
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          for (const stats of targets) {
            const value = read(stats);
            const before = last.get(stats) ?? 0;
            // Every series is exported from the start, at 0: a rate() over it works before the first event.
            this.inc(labels(stats), Math.max(0, value - before));
            last.set(stats, value);
          }
        },
      });
    };
    total('klaxon_delivery_sent_total', 'Alerts a delivery sink had accepted by its receiver.', (stats) => stats.sent);
    total('klaxon_delivery_failed_total', 'Alerts given up: refused by the receiver, or still failing after retry.maxAttempts.', (stats) => stats.failed);
    total('klaxon_delivery_retries_total', 'Requests tried again after a network error, a timeout or a retriable answer.', (stats) => stats.retried);
    total('klaxon_delivery_dropped_total', 'Alerts dropped unsent: the oldest of a full queue, or what was left at shutdown.', (stats) => stats.dropped);
    total('klaxon_delivery_resent_total', 'FIRING alerts sent to Alertmanager again to keep them active.', (stats) => stats.resent);
    new Gauge({
      name: 'klaxon_delivery_queue_depth',
      help: "Alerts waiting to be sent (at most the sink's queueSize, unless it blocks).",
      labelNames,
      registers,
      collect() {
        for (const stats of targets) this.set(labels(stats), stats.queued);
      },
    });
    const latency = new Histogram({
      name: 'klaxon_delivery_latency_seconds',
      help: 'Time from an alert entering a delivery queue to its receiver accepting it (retries included).',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    for (const stats of targets) {
      const child = latency.labels(labels(stats));
      stats.onLatency((seconds) => child.observe(seconds));
    }
  }

  private rejectedByReason(): void {
    const last = new Map<string, number>();
    const metrics = this;
    new Counter({
      name: 'klaxon_readings_rejected_total',
      help: 'Records turned into dead letters, by reason (the sum over reasons is every dead letter).',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        const stats = metrics.view?.stats;
        if (stats === undefined) return;
        const byReason = new Map(stats.rejectedByReason);
        const classified = [...byReason.values()].reduce((a, b) => a + b, 0);
        if (stats.rejected > classified) byReason.set(UNCLASSIFIED, stats.rejected - classified);
        for (const [reason, value] of byReason) {
          const before = last.get(reason) ?? 0;
          if (value > before) this.inc({ reason }, value - before);
          last.set(reason, value);
        }
      },
    });
  }

  private partitionLag(): void {
    const metrics = this;
    new Gauge({
      name: 'klaxon_consumer_lag_records',
      help: 'Kafka consumer lag per assigned partition (records behind the high watermark).',
      labelNames: ['partition'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [partition, lag] of metrics.view?.lagByPartition() ?? []) this.set({ partition: String(partition) }, lag);
      },
    });
  }

  /** Queue depth, busy time, zones and heap per worker; the slow answers are asked in parallel with a deadline. */
  private workerGauges(): void {
    const metrics = this;
    const registers = [this.registry];
    new Gauge({
      name: 'klaxon_worker_queue_depth',
      help: 'Tasks waiting or running at each worker (backpressure holds it at engine.maxQueuePerWorker).',
      labelNames: ['worker'],
      registers,
      collect() {
        for (const [worker, depth] of (metrics.view?.queueDepths() ?? []).entries()) this.set({ worker: String(worker) }, depth);
      },
    });
    const lastBusy = new Map<number, number>();
    new Counter({
      name: 'klaxon_worker_busy_seconds_total',
      help: 'Time each worker spent running tasks (absent until the pipeline reports it).',
      labelNames: ['worker'],
      registers,
      collect() {
        metrics.view?.busyMs()?.forEach((ms, worker) => {
          const before = lastBusy.get(worker) ?? 0;
          if (ms > before) this.inc({ worker: String(worker) }, (ms - before) / 1000);
          lastBusy.set(worker, ms);
        });
      },
    });
    // One stats round per scrape feeds both gauges (the registry collects metrics concurrently).
    let asked: { at: number; answer: Promise<StatsResult[] | undefined> } | undefined;
    const workerStats = () => {
      const view = metrics.view;
      if (view === undefined) return Promise.resolve(undefined);
      if (asked === undefined || performance.now() - asked.at > 500) {
        asked = { at: performance.now(), answer: within(shardStats(view), WORKER_ANSWER_MS) };
      }
      return asked.answer;
    };
    const perWorker = (name: string, help: string, read: (stats: StatsResult) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        async collect() {
          for (const [worker, stats] of ((await workerStats()) ?? []).entries()) this.set({ worker: String(worker) }, read(stats));
        },
      });
    perWorker('klaxon_worker_zones', 'Zones held by each worker.', (stats) => stats.zones);
    perWorker('klaxon_worker_heap_bytes', 'V8 heap used by each worker thread.', (stats) => stats.heapUsed);
    perWorker(
      'klaxon_worker_array_buffer_bytes',
      'ArrayBuffers held by each worker thread (zone state lives there, outside the heap).',
      (stats) => stats.arrayBuffers,
    );
  }
}

function shardStats(view: EngineView) {
  return Promise.all(Array.from({ length: view.workers }, (_, worker) => view.ask<StatsResult>(worker, { kind: 'stats' })));
}
