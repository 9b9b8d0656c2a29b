import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configJsonSchema } from '../config/json-schema.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import { SEED_RULES } from '../config/seed-rules.js';
import type { KlaxonConfig, LogLevel } from '../config/types.js';
import { runEngine } from '../coordinator/engine.js';
import type { RunSummary } from '../coordinator/stats.js';
import { logger, setLogLevel } from '../log.js';
import { startObservability } from '../observe/observe.js';
import { formatStoredZone, inspectStoredZone } from '../observe/state-inspect.js';
import { openStateStore } from '../state/factory.js';
import { showProgress } from './progress.js';
import { stopRequested } from './stop-signals.js';

const log = logger('cli');

export interface RunOptions {
  config: string;
  workers?: number;
  logLevel?: LogLevel;
}

/** `klaxon run`: the configured job, to the end of a bounded source or until SIGINT/SIGTERM. */
export async function runCommand(options: RunOptions): Promise<void> {
  const config = loadConfigFile(options.config);
  if (options.workers !== undefined) config.engine.workers = options.workers;
  applyLogLevel(config, options.logLevel);
  await runWithProgress(config);
}

/** --log-level wins over the config's log.level, which wins over KLAXON_LOG_LEVEL. */
function applyLogLevel(config: KlaxonConfig, flag: LogLevel | undefined): void {
  const level = flag ?? config.log?.level;
  if (level !== undefined) setLogLevel(level);
}

export interface StateInspectOptions {
  config: string;
  values: number;
  json?: boolean;
  logLevel?: LogLevel;
}

/** `klaxon state inspect ZONE`: the zone's statistics as the Redis snapshot holds them. */
export async function stateInspectCommand(zoneId: string, options: StateInspectOptions): Promise<void> {
  const config = loadConfigFile(options.config);
  applyLogLevel(config, options.logLevel);
  const stored = await inspectStoredZone(config, zoneId);
  if (stored === undefined) {
    process.stderr.write(`klaxon: no snapshot holds zone ${zoneId} (it has not been seen, or not snapshotted yet)\n`);
    process.exitCode = 1;
    return;
  }
  if (options.json) {
    const { zone } = stored;
    const values = Array.from(zone.values.subarray(Math.max(0, zone.values.length - options.values)));
    process.stdout.write(`${JSON.stringify({ ...stored, zone: { ...zone, values } })}\n`);
  } else {
    process.stdout.write(formatStoredZone(stored, options.values));
  }
}

/** `klaxon validate`: loads the config and says what it would run. */
export function validateCommand(options: { config: string }): void {
  const config = loadConfigFile(options.config);
  const rules = config.rules.map((r) => `${r.id} (${r.type})`).join(', ');
  const deliveries = config.deliveries.map((d) => (d.name === d.type ? d.type : `${d.type} "${d.name}"`));
  const sinks = [config.sink.type, ...deliveries].join(' + ');
  process.stdout.write(`${options.config}: ok — ${config.source.type} → ${config.engine.workers} workers → ${sinks}; rules: ${rules}\n`);
}

/** `klaxon topics create`: the config's Kafka topics, with their configured partition counts. */
export async function topicsCreateCommand(options: { config: string }): Promise<void> {
  const config = loadConfigFile(options.config);
  const { createKafka, ensureTopic } = await import('../io/kafka/client.js');
  const wanted = [config.source, config.sink, config.deadLetter].filter((part) => part.type === 'kafka');
  for (const part of wanted) {
    await ensureTopic(createKafka(part.brokers, 'klaxon-admin'), part.topic, part.partitions);
    process.stdout.write(`${part.topic}: ready (${part.partitions} partitions if created now)\n`);
  }
  if (wanted.length === 0) process.stdout.write('no Kafka topics in this config\n');
}

export function schemaCommand(): void {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}

export interface DemoOptions {
  zones: number;
  rate: number;
  workers: number;
  count?: number;
  /** The dashboard's port (0: any free one). */
  port: number;
  dashboard: boolean;
  logLevel?: LogLevel;
}

/** `klaxon demo`: the embedded default — generated plant → workers → alerts on the terminal. No services needed. */
export async function demoCommand(options: DemoOptions): Promise<void> {
  const config = parseConfig(
    {
      engine: { workers: options.workers, batchSize: 500 },
      source: {
        type: 'generator',
        zones: options.zones,
        rate: options.rate,
        clock: 'wall',
        ...(options.count === undefined ? {} : { count: options.count }),
        badRate: 0.001,
      },
      sink: { type: 'stdout', format: 'pretty' },
      // The demo's few malformed lines go to the temp folder, not wherever it was started.
      deadLetter: { type: 'file', path: join(tmpdir(), 'klaxon-demo-dead-letters.ndjson') },
      ...SEED_RULES,
      ...(options.dashboard ? { http: { port: options.port, host: '127.0.0.1', dashboard: true } } : {}),
    },
    { baseDir: process.cwd() },
  );
  applyLogLevel(config, options.logLevel);
  log.info(
    {
      zones: options.zones,
      rate: options.rate,
      workers: options.workers,
      rules: '>89°, 3σ over the last 500, 5% over the 5-minute average, +10% against 5 minutes ago',
    },
    'demo starting (Ctrl-C stops)',
  );
  await runWithProgress(config, (url) => process.stderr.write(`klaxon demo: live dashboard at ${url}/\n`));
}

/** Runs the engine with its observability (metrics, health, dashboard if configured) and the terminal's progress line. */
async function runWithProgress(config: KlaxonConfig, announce: (url: string) => void = () => {}): Promise<void> {
  const observe = await startObservability(config);
  if (observe.url !== undefined) announce(observe.url);
  let stopProgress = () => {};
  let summary: RunSummary;
  try {
    const dashboardUrl = config.http?.dashboard ? (config.http.externalUrl ?? observe.url) : undefined;
    summary = await runEngine(config, {
      signal: stopRequested,
      dashboardUrl,
      onStart: (engine) => {
        observe.onStart(engine);
        log.info(
          {
            source: config.source.type,
            workers: config.engine.workers,
            sink: config.sink.type,
            deliveries: config.deliveries.map((d) => d.name),
            guarantee: config.guarantee,
          },
          'engine started',
        );
        stopProgress = showProgress(engine);
      },
      onAlerts: observe.onAlerts,
    });
  } finally {
    stopProgress();
    await observe.stop();
  }
  const seconds = summary.elapsedMs / 1000;
  process.stderr.write(
    `klaxon: ${summary.records} records (${summary.accepted} accepted, ${summary.rejected} dead letters), ` +
      `${summary.alerts} alerts (${summary.firing} firing, ${summary.resolved} resolved), ${summary.zones} zones, ` +
      `${seconds.toFixed(1)} s, ${Math.round(summary.records / Math.max(seconds, 1e-3))} records/s\n`,
  );
  if (summary.replayed > 0) {
    process.stderr.write(`klaxon: ${summary.replayed} records replayed after the snapshots to rebuild state (their output was written before)\n`);
  }
  if (summary.keyMismatches > 0) {
    // Per-zone order holds only within a partition: worth telling the producer's owner.
    process.stderr.write(
      `klaxon: ${summary.keyMismatches} records were not keyed by their zone_id: per-zone order, and so the alerts, hold only when readings are keyed by zone_id\n`,
    );
  }
}

/** `klaxon state reset`: deletes the config's snapshots; the next start rebuilds state by replaying the topic. */
export async function stateResetCommand(options: { config: string }): Promise<void> {
  const config = loadConfigFile(options.config);
  if (config.state.type !== 'redis' || config.source.type !== 'kafka') {
    process.stdout.write('this config keeps no state outside the process: nothing to reset\n');
    return;
  }
  const { prefix } = config.state;
  const { topic } = config.source;
  const store = await openStateStore(config);
  if (store === undefined) return;
  try {
    const removed = await store.reset();
    process.stdout.write(
      `removed the snapshots of ${removed} partition(s) of ${topic} under ${prefix}; ` +
        'the next start replays the topic from its beginning to rebuild state (alerts already committed are not written again)\n',
    );
  } finally {
    await store.close();
  }
}
