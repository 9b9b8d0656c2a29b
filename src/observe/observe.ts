import type { KlaxonConfig } from '../config/types.js';
import type { RunningEngine } from '../coordinator/engine.js';
import type { OutRecord } from '../io/types.js';
import { AlertFeed, parseAlert, type SeenAlert } from './alert-feed.js';
import { DashboardFeed } from './dashboard-feed.js';
import { engineView } from './engine-view.js';
import { Health } from './health.js';
import { startHttp } from './http-server.js';
import { EngineMetrics } from './metrics.js';
import { RecentFirings } from './recent-firings.js';

export interface Observability {
  /** The HTTP server's base URL; undefined when the config has no `http` section. */
  url: string | undefined;
  /** Pass to runEngine's hooks (EngineHooks.onStart / onAlerts). */
  onStart(engine: RunningEngine): void;
  onAlerts(records: readonly OutRecord[]): void;
  onShadowAlerts(records: readonly OutRecord[]): void;
  /** The run is over: not ready any more; the server closes. */
  stop(): Promise<void>;
}

/**
 * Metrics, health and the dashboard for one engine run, started before the
 * engine (so /healthz answers and a bad port fails fast) and attached to the
 * pipeline when it exists. Without an `http` section nothing is started.
 */
export async function startObservability(config: KlaxonConfig): Promise<Observability> {
  const { http } = config;
  if (http === undefined) return { url: undefined, onStart: () => {}, onAlerts: () => {}, onShadowAlerts: () => {}, stop: async () => {} };
  const alerts = new AlertFeed();
  const metrics = new EngineMetrics();
  alerts.onAlerts(metrics.countAlerts);
  // Live and shadow rules' firings over the last hour, side by side on the dashboard.
  const firings = new RecentFirings();
  const countFirings = (seen: readonly SeenAlert[]) => {
    for (const alert of seen) if (alert.status === 'firing') firings.add(alert.rule, alert.emittedAt);
  };
  alerts.onAlerts(countFirings);
  const health = new Health();
  // The dashboard's scales come from the latest version's rules.
  const latest = config.versions.at(-1)?.rules ?? [];
  const zscore = latest.find((rule) => rule.type === 'zscore');
  const dashboard = http.dashboard
    ? new DashboardFeed(alerts, firings, {
        gridZones: 400,
        historyValues: config.window.size,
        tickMs: 1_000,
        k: zscore?.type === 'zscore' ? zscore.k : 3,
        // The threshold sets the top of the grid's colour scale.
        rules: latest.map((rule) => ({
          id: rule.id,
          type: rule.type,
          ...(rule.type === 'threshold' && rule.above !== undefined ? { above: rule.above } : {}),
        })),
      })
    : undefined;
  const server = await startHttp(http, { metrics, health, ...(dashboard === undefined ? {} : { dashboard }) });
  return {
    url: server.url,
    onStart(engine) {
      const view = engineView(engine);
      metrics.attach(view);
      health.attach(view);
      dashboard?.attach(view);
    },
    onAlerts: alerts.add,
    onShadowAlerts(records) {
      const now = Date.now();
      const seen = records.map((record) => parseAlert(record.value, now)).filter((alert) => alert !== undefined);
      metrics.countShadowAlerts(seen);
      countFirings(seen);
    },
    async stop() {
      health.stop();
      await server.close();
    },
  };
}
