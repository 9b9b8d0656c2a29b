import type { IncomingMessage, ServerResponse } from 'node:http';
import { ranksBefore } from '../engine/hot-zones.js';
import { logger } from '../log.js';
import type { HotZone, HotZonesResult, ZoneHistoryResult } from '../protocol/messages.js';
import type { AlertFeed, SeenAlert } from './alert-feed.js';
import { type EngineView, type RulesView, within } from './engine-view.js';
import type { RecentFirings } from './recent-firings.js';
import { Throughput } from './throughput.js';

export interface DashboardOptions {
  /** Most zones the grid shows (firing first, then hottest): what keeps the page light with 100,000 zones. */
  gridZones: number;
  /** Most values of the selected zone sent to the chart. */
  historyValues: number;
  tickMs: number;
  /** The σ multiple of the chart's band (the zscore rule's k). */
  k: number;
  rules: ReadonlyArray<{ id: string; type: string; above?: number }>;
}

interface Client {
  res: ServerResponse;
  zone: string | undefined;
  /** AlertFeed count this client has been sent up to. */
  alertsSeen: number;
  /** A slow client is skipped until its socket drains, rather than buffered without bound. */
  blocked: boolean;
}

/** Alerts sent per push per client at most; a storm shows its newest ones and the totals tell the rest. */
const ALERTS_PER_TICK = 100;
const ALERTS_DELAY_MS = 100;
const WORKER_ANSWER_MS = 1_000;
/** Server-sent event streams open at once, at most. */
export const MAX_STREAMS = 64;
const log = logger('dashboard');

/**
 * The dashboard's live data over server-sent events. Once a tick, and only
 * while someone is watching, every client gets the engine's summary and the
 * grid (the top `gridZones` zones merged from every worker, plus counts),
 * its new alerts, and the history of the zone it selected (asked of that
 * zone's owner). No client ever gets every zone's readings.
 */
export class DashboardFeed {
  private readonly clients = new Set<Client>();
  private readonly throughput: Throughput;
  private view: EngineView | undefined;
  private readonly timer: NodeJS.Timeout;
  private alertsTimer: NodeJS.Timeout | undefined;
  private pushing = false;

  constructor(
    private readonly alerts: AlertFeed,
    private readonly firings: RecentFirings,
    private readonly options: DashboardOptions,
  ) {
    this.throughput = new Throughput(120);
    this.timer = setInterval(() => {
      if (this.view !== undefined) this.throughput.sample(this.view.stats.records, this.view.lag());
      this.pushSafely();
    }, options.tickMs);
    this.timer.unref();
    // Alerts go out within ALERTS_DELAY_MS rather than at the next tick, batched so a storm costs a few writes a second.
    alerts.onAlerts(() => {
      if (this.alertsTimer !== undefined || this.clients.size === 0) return;
      this.alertsTimer = setTimeout(() => {
        this.alertsTimer = undefined;
        for (const client of this.clients) if (!client.blocked) this.sendNewAlerts(client);
      }, ALERTS_DELAY_MS);
    });
  }

  attach(view: EngineView): void {
    this.view = view;
  }

  /** GET /events?zone=ID: one SSE stream; selecting another zone opens a new one. */
  connect(req: IncomingMessage, res: ServerResponse, zone: string | undefined): void {
    if (this.clients.size >= MAX_STREAMS) {
      // Every stream costs a push per tick: past this many, a new one would slow the ones already open.
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end(`too many dashboard streams open (${MAX_STREAMS}): close one and retry\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const recent = this.alerts.since(Math.max(0, this.alerts.count - 50), 50);
    const client: Client = { res, zone, alertsSeen: this.alerts.count, blocked: false };
    this.clients.add(client);
    req.on('close', () => this.clients.delete(client));
    res.on('drain', () => {
      client.blocked = false;
    });
    const { k, rules, gridZones } = this.options;
    this.send(client, 'hello', { k, rules, gridZones, throughput: this.throughput.series(), alerts: recent.map(compactAlert) });
    this.pushSafely();
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.alertsTimer);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }

  // The dashboard must never take the engine down: a failed push is logged and the next tick tries again.
  private pushSafely(): void {
    this.push().catch((error: unknown) => log.warn({ err: error }, 'dashboard update failed'));
  }

  private async push(): Promise<void> {
    const view = this.view;
    // A slow worker answer must not stack pushes on top of each other.
    if (this.pushing || this.clients.size === 0 || view === undefined) return;
    this.pushing = true;
    try {
      const summary = this.summary(view);
      const grid = await this.grid(view);
      for (const client of this.clients) {
        if (client.blocked) continue;
        this.send(client, 'summary', summary);
        if (grid !== undefined) this.send(client, 'zones', grid);
        this.sendNewAlerts(client);
        if (client.zone !== undefined) this.send(client, 'zone', await this.zone(view, client.zone));
      }
    } finally {
      this.pushing = false;
    }
  }

  private summary(view: EngineView) {
    const { stats } = view;
    const [sampleAt, rate] = this.throughput.latest() ?? [0, 0];
    const rules = view.rules();
    return {
      // The throughput sample this summary carries (a client charts each sample once).
      sampleAt,
      rate,
      lag: view.lag() ?? null,
      records: stats.records,
      accepted: stats.accepted,
      rejected: stats.rejected,
      firing: stats.firing,
      resolved: stats.resolved,
      zones: stats.zones,
      // With tiering, zones in memory are only part of them: the rest wait in the state store (null: no tiering).
      zonesEvicted: view.tierStats()?.evicted ?? null,
      ready: view.ready(),
      queues: view.queueDepths(),
      rules,
      shadows: this.shadowPanel(rules),
    };
  }

  /** Per shadow rule, its firings in the last hour, beside those of the live rule it shadows. */
  shadowPanel(rules: RulesView): Array<{ rule: string; firing: number; shadows: string | null; liveFiring: number | null }> {
    const now = Date.now();
    return rules.shadows.map(({ rule, shadows }) => ({
      rule,
      firing: this.firings.count(rule, now),
      shadows,
      liveFiring: shadows === null ? null : this.firings.count(shadows, now),
    }));
  }

  /** The grid: at most gridZones zones as [zone, latest, firing rules], best first, and the counts behind them. */
  private async grid(view: EngineView) {
    const limit = this.options.gridZones;
    const answers = await Promise.all(
      Array.from({ length: view.workers }, (_, shard) => within(view.ask<HotZonesResult>(shard, { kind: 'hotZones', limit }), WORKER_ANSWER_MS)),
    );
    if (answers.some((answer) => answer === undefined)) return undefined;
    const results = answers as HotZonesResult[];
    const merged: HotZone[] = results
      .flatMap((r) => r.zones)
      .map((zone) => ({ zone, firing: zone.firing.length > 0, latest: zone.latest }))
      .sort((a, b) => (ranksBefore(a, b) ? -1 : ranksBefore(b, a) ? 1 : 0))
      .slice(0, limit)
      .map((ranked) => ranked.zone);
    return {
      total: results.reduce((sum, r) => sum + r.total, 0),
      firingZones: results.reduce((sum, r) => sum + r.firingZones, 0),
      zones: merged.map((z) => [z.zoneId, round(z.latest), z.firing.join(',')]),
    };
  }

  /** One zone's chart data (GET /api/zones/ID); undefined before the engine runs. */
  async zoneJson(zoneId: string) {
    return this.view === undefined ? undefined : this.zone(this.view, zoneId);
  }

  private async zone(view: EngineView, zoneId: string) {
    const answer = await within(
      view.ask<ZoneHistoryResult>(view.ownerOf(zoneId), { kind: 'zoneHistory', zoneId, limit: this.options.historyValues }),
      WORKER_ANSWER_MS,
    );
    const zone = answer?.zone;
    // An evicted zone is not in its worker until its next reading reads it back from the store.
    if (zone === undefined || zone === null) return { zoneId, found: false, evicted: view.zoneEvicted(zoneId) };
    const firstSeq = zone.seq - zone.values.length + 1;
    return {
      zoneId,
      found: true,
      seq: zone.seq,
      count: zone.count,
      firstSeq,
      values: Array.from(zone.values, round),
      mean: zone.mean,
      std: zone.std,
      firing: zone.firing,
      alerts: this.alerts.forZone(zoneId, firstSeq, zone.seq).map(compactAlert),
    };
  }

  private sendNewAlerts(client: Client): void {
    const fresh = this.alerts.since(client.alertsSeen, ALERTS_PER_TICK);
    client.alertsSeen = this.alerts.count;
    if (fresh.length > 0) this.send(client, 'alerts', fresh.map(compactAlert));
  }

  private send(client: Client, event: string, data: unknown): void {
    if (!client.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) client.blocked = true;
  }
}

function compactAlert(a: SeenAlert) {
  return { id: a.alertId, zone: a.zoneId, rule: a.rule, status: a.status, value: a.value, ts: a.ts, seq: a.seq, at: a.emittedAt };
}

// Two decimals are plenty on a screen and keep the payload small.
function round(x: number): number {
  return Math.round(x * 100) / 100;
}
