import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configJsonSchema } from '../config/json-schema.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import { SEED_RULES } from '../config/seed-rules.js';
import type { KlaxonConfig, LogLevel } from '../config/types.js';
import { runEngine } from '../coordinator/engine.js';
import type { RunSummary } from '../coordinator/stats.js';
import { waitForConfiguredKafka } from '../io/factory.js';
import { logger, setLogLevel } from '../log.js';
import { startObservability } from '../observe/observe.js';
import { formatStoredZone, inspectStoredZone } from '../observe/state-inspect.js';
import { openStateStore } from '../state/factory.js';
import { isPortFree } from './ports.js';
import { showProgress } from './progress.js';
import { summaryLines } from './run-report.js';
import { stopRequested } from './stop-signals.js';
import { counted } from './wording.js';

const log = logger('cli');

/** What every command that reads a config may override from its command line. */
interface ConfigOptions {
  config: string;
  logLevel?: LogLevel;
  connectTimeout?: number;
}

/** The config file with the command line's overrides applied. */
function loadConfig(options: ConfigOptions): KlaxonConfig {
  const config = loadConfigFile(options.config);
  if (options.connectTimeout !== undefined) config.connectTimeoutMs = options.connectTimeout;
  applyLogLevel(config, options.logLevel);
  return config;
}

export interface RunOptions extends ConfigOptions {
  workers?: number;
}

/** `klaxon run`: the configured job, to the end of a bounded source or until SIGINT/SIGTERM. */
export async function runCommand(options: RunOptions): Promise<void> {
  const config = loadConfig(options);
  if (options.workers !== undefined) config.engine.workers = options.workers;
  await runWithProgress(config);
}

/** --log-level wins over the config's log.level, which wins over KLAXON_LOG_LEVEL. */
function applyLogLevel(config: KlaxonConfig, flag: LogLevel | undefined): void {
  const level = flag ?? config.log?.level;
  if (level !== undefined) setLogLevel(level);
}

export interface StateInspectOptions extends ConfigOptions {
  values: number;
  json?: boolean;
}

/** `klaxon state inspect ZONE`: the zone's statistics as the Redis snapshot holds them. */
export async function stateInspectCommand(zoneId: string, options: StateInspectOptions): Promise<void> {
  const config = loadConfig(options);
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
  const [only] = config.versions;
  const rules =
    config.versions.length === 1 && only !== undefined
      ? `rules: ${only.rules.map((r) => `${r.id} (${r.type})`).join(', ')}`
      : `${config.versions.length} rule versions: ${config.versions.map((v) => `${v.version} from ${v.effectiveFrom === 0 ? '0' : new Date(v.effectiveFrom).toISOString()} (${v.rules.length} rules)`).join(', ')}`;
  const deliveries = config.deliveries.map((d) => (d.name === d.type ? d.type : `${d.type} "${d.name}"`));
  const sinks = [config.sink.type, ...deliveries].join(' + ');
  process.stdout.write(`${options.config}: ok — ${config.source.type} → ${config.engine.workers} workers → ${sinks}; ${rules}\n`);
}

/**
 * `klaxon topics create`: the config's Kafka topics, with their configured
 * partition counts, and its compacted rules topic; says of each whether it
 * was created now or was there, and how many partitions the broker says it has.
 */
export async function topicsCreateCommand(options: ConfigOptions): Promise<void> {
  const config = loadConfig(options);
  const wanted = [config.source, config.sink, config.deadLetter, config.shadowSink].filter((part) => part?.type === 'kafka');
  if (wanted.length === 0) {
    process.stdout.write('no Kafka topics in this config\n');
    return;
  }
  await waitForConfiguredKafka(config);
  const { createKafka, ensureTopic } = await import('../io/kafka/client.js');
  const report = (topic: string, configured: number, { created, partitions }: { created: boolean; partitions: number }, what = '') => {
    const other = !created && partitions !== configured ? ` (the config says ${configured}; Klaxon does not change an existing topic)` : '';
    process.stdout.write(`${topic}: ${what}${created ? 'created' : 'exists'}, ${counted(partitions, 'partition')}${other}\n`);
  };
  for (const part of wanted) report(part.topic, part.partitions, await ensureTopic(createKafka(part.brokers, 'klaxon-admin'), part.topic, part.partitions));
  const { source } = config;
  if (source.type === 'kafka') {
    // What KafkaRulesTopic creates on first use: one partition, compacted (it keeps every version).
    const rules = await ensureTopic(createKafka(source.brokers, 'klaxon-admin'), source.rulesTopic, 1, { 'cleanup.policy': 'compact' });
    report(source.rulesTopic, 1, rules, 'the rules topic (compacted): ');
  }
}

export function schemaCommand(): void {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}

/** Where the demo's dashboard listens unless told otherwise: the same address every time, for a bookmark. */
const DEMO_HOST = '127.0.0.1';
const DEMO_PORT = 9464;

export interface DemoOptions {
  zones: number;
  rate: number;
  workers: number;
  count?: number;
  /** The dashboard's port (0: any free one); by default DEMO_PORT, or any free one when that is taken. */
  port?: number;
  dashboard: boolean;
  logLevel?: LogLevel;
}

/** `klaxon demo`: the embedded default — generated plant → workers → alerts on the terminal. No services needed. */
export async function demoCommand(options: DemoOptions): Promise<void> {
  const port = options.port ?? ((await isPortFree(DEMO_HOST, DEMO_PORT)) ? DEMO_PORT : 0);
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
      ...(options.dashboard ? { http: { port, host: DEMO_HOST, dashboard: true } } : {}),
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
  // The address is printed when the server listens, kept in view below the alerts, and printed again at the end.
  let dashboard: string | undefined;
  try {
    await runWithProgress(config, (url) => {
      dashboard = `${url}/`;
      process.stderr.write(`klaxon demo: live dashboard at ${dashboard}\n`);
      return [`live dashboard: ${dashboard}   (Ctrl-C stops)`];
    });
  } finally {
    if (dashboard !== undefined) process.stderr.write(`klaxon demo: the live dashboard was at ${dashboard}\n`);
  }
}

/**
 * Runs the engine with its observability (metrics, health, dashboard if
 * configured) and the terminal's progress line; `header` lines (given the
 * HTTP server's address) stay above the progress line while it runs.
 */
async function runWithProgress(config: KlaxonConfig, header: (url: string) => string[] = () => []): Promise<void> {
  const observe = await startObservability(config);
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
        stopProgress = showProgress(engine, observe.url === undefined ? [] : header(observe.url));
      },
      onAlerts: observe.onAlerts,
      onShadowAlerts: observe.onShadowAlerts,
    });
  } finally {
    stopProgress();
    await observe.stop();
  }
  for (const line of summaryLines(summary, { shadowSink: config.shadowSink !== undefined })) process.stderr.write(`klaxon: ${line}\n`);
}

/** `klaxon state reset`: deletes the config's snapshots; the next start rebuilds state by replaying the topic. */
export async function stateResetCommand(options: ConfigOptions): Promise<void> {
  const config = loadConfig(options);
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
      `removed the snapshots of ${counted(removed, 'partition')} of ${topic} under ${prefix}; ` +
        'the next start replays the topic from its beginning to rebuild state (alerts already committed are not written again)\n',
    );
  } finally {
    await store.close();
  }
}
