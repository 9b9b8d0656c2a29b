import { loadConfigFile, parseConfig } from '../config/load.js';
import { configSchema } from '../config/schema.js';
import type { KlaxonConfig } from '../config/types.js';
import { runEngine } from '../coordinator/engine.js';
import type { RunSummary } from '../coordinator/stats.js';
import { showProgress } from './progress.js';

export interface RunOptions {
  config: string;
  workers?: number;
}

/** `klaxon run`: the configured job, to the end of a bounded source or until SIGINT/SIGTERM. */
export async function runCommand(options: RunOptions): Promise<void> {
  const config = loadConfigFile(options.config);
  if (options.workers !== undefined) config.engine.workers = options.workers;
  await runWithProgress(config);
}

/** `klaxon validate`: loads the config and says what it would run. */
export function validateCommand(options: { config: string }): void {
  const config = loadConfigFile(options.config);
  const rules = config.rules.map((r) => `${r.id} (${r.type})`).join(', ');
  process.stdout.write(
    `${options.config}: ok — ${config.source.type} → ${config.engine.workers} workers → ${config.sink.type}; rules: ${rules}\n`,
  );
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
  process.stdout.write(`${JSON.stringify(configSchema, null, 2)}\n`);
}

export interface DemoOptions {
  zones: number;
  rate: number;
  workers: number;
  count?: number;
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
      deadLetter: { type: 'file', path: 'klaxon-demo-dead-letters.ndjson' },
      window: { size: 500, pane: '1s' },
      rules: [
        { id: 'too-hot', type: 'threshold', above: 89 },
        { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
        { id: 'above-5m-avg', type: 'window_avg', span: '5m', abovePct: 5 },
        { id: 'rising-fast', type: 'rate_of_change', lag: '5m', pct: 10, direction: 'up' },
      ],
    },
    { baseDir: process.cwd() },
  );
  process.stderr.write(
    `klaxon demo: ${options.zones} zones at ${options.rate} readings/s on ${options.workers} workers; ` +
      `rules: >89°, 3σ over the last 500, 5% over the 5-minute average, +10% against 5 minutes ago. Ctrl-C stops.\n`,
  );
  await runWithProgress(config);
}

async function runWithProgress(config: KlaxonConfig): Promise<void> {
  let stopProgress = () => {};
  let summary: RunSummary;
  try {
    summary = await runEngine(config, {
      onStart: (pipeline) => {
        stopProgress = showProgress(pipeline, () => undefined);
      },
    });
  } finally {
    stopProgress();
  }
  const seconds = summary.elapsedMs / 1000;
  process.stderr.write(
    `klaxon: ${summary.records} records (${summary.accepted} accepted, ${summary.rejected} dead letters), ` +
      `${summary.alerts} alerts (${summary.firing} firing, ${summary.resolved} resolved), ${summary.zones} zones, ` +
      `${seconds.toFixed(1)} s, ${Math.round(summary.records / Math.max(seconds, 1e-3))} records/s\n`,
  );
}
