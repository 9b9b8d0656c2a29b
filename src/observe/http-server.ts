import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpConfig } from '../config/types.js';
import { ConfigError, describeError } from '../errors.js';
import { logger } from '../log.js';
import type { DashboardFeed } from './dashboard-feed.js';
import type { Health } from './health.js';
import type { EngineMetrics } from './metrics.js';
import { staticFile } from './static-files.js';

const log = logger('http');

export interface HttpParts {
  metrics: EngineMetrics;
  health: Health;
  /** Present when `http.dashboard` is on. */
  dashboard?: DashboardFeed;
}

export interface RunningHttp {
  /** Where it listens, e.g. http://127.0.0.1:9464 (the real port when the config asked for 0). */
  url: string;
  close(): Promise<void>;
}

/**
 * The operator's port: /metrics (Prometheus text), /healthz, /readyz and,
 * with the dashboard on, the page, its files and its event stream. Read-only:
 * nothing here can change what the engine does.
 */
export async function startHttp(config: HttpConfig, parts: HttpParts): Promise<RunningHttp> {
  const server = createServer((req, res) => {
    route(req, res, parts).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${describeError(error)}\n`);
      else res.end();
    });
  });
  await listen(server, config);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  log.info({ url, dashboard: parts.dashboard !== undefined }, 'http listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        parts.dashboard?.close();
        // SSE streams never end by themselves.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, parts: HttpParts): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n');
  switch (url.pathname) {
    case '/metrics':
      return send(res, 200, parts.metrics.registry.contentType, await parts.metrics.text());
    case '/healthz':
      return json(res, 200, parts.health.live());
    case '/readyz': {
      const readiness = parts.health.readiness();
      return json(res, readiness.ready ? 200 : 503, readiness);
    }
  }
  const { dashboard } = parts;
  if (dashboard === undefined) {
    return send(res, 404, 'text/plain; charset=utf-8', 'not found: this engine serves /metrics, /healthz and /readyz (the dashboard is off: http.dashboard)\n');
  }
  if (url.pathname === '/events') return dashboard.connect(req, res, url.searchParams.get('zone') || undefined);
  if (url.pathname.startsWith('/api/zones/')) {
    const zoneId = decodedOrUndefined(url.pathname.slice('/api/zones/'.length));
    if (zoneId === undefined) return json(res, 400, { found: false, status: 'the zone id is not a valid %-escaped string' });
    const zone = await dashboard.zoneJson(zoneId);
    return json(res, zone?.found ? 200 : 404, zone ?? { found: false, status: 'starting' });
  }
  const file = staticFile(url.pathname);
  if (file === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  const { body, gzipped, type } = await file;
  if (!/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return send(res, 200, type, body);
  res.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip', 'cache-control': 'no-cache', vary: 'accept-encoding' });
  res.end(gzipped);
}

/** A path segment's text, or undefined for a malformed %-escape (a client's mistake, not the server's). */
function decodedOrUndefined(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(body)}\n`);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function listen(server: Server, config: HttpConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    // The usual causes (port taken, address not on this machine) are fixed in the config, so say which key.
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ConfigError([`/http: cannot listen on ${config.host}:${config.port} (${error.code ?? error.message})`], { cause: error })),
    );
    server.listen(config.port, config.host, () => {
      server.removeAllListeners('error');
      // Later failures (rare once listening) are the operator port's problem, never the engine's.
      server.on('error', (error) => log.error({ err: error }, 'http server error'));
      resolve();
    });
  });
}
