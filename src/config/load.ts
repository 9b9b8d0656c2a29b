import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { defaults } from './defaults.js';
import { type Duration, formatDuration, parseDuration } from './durations.js';
import { expandEnv } from './env.js';
import type { Guarantee, HttpConfig, KlaxonConfig, LogConfig, LogLevel, Mode, Rule, SinkConfig, SourceConfig, StateConfig } from './types.js';
import { schemaIssues } from './validate.js';

/** Reads, validates and normalises a config file. Throws ConfigError naming every bad field. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): KlaxonConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? error})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON (${(error as Error).message})`]);
  }
  return parseConfig(raw, { baseDir: dirname(path), env, file: path });
}

export interface ParseOptions {
  /** Relative paths in the config resolve against this folder. */
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  file?: string;
}

/** Validates and normalises an already-parsed config object. */
export function parseConfig(raw: unknown, options: ParseOptions): KlaxonConfig {
  const missing: string[] = [];
  const expanded = expandEnv(raw, options.env ?? process.env, missing);
  const issues = [...missing, ...schemaIssues(expanded)];
  if (issues.length > 0) throw new ConfigError(issues);
  // The schema has vouched for the shape; from here on only meaning is checked.
  const input = expanded as RawConfig;
  const normaliser = new Normaliser(options.baseDir);
  const config = normaliser.config(input);
  if (normaliser.issues.length > 0) throw new ConfigError(normaliser.issues);
  if (options.file !== undefined) config.file = options.file;
  return config;
}

// The shape the schema guarantees (optional keys still optional).
interface RawConfig {
  engine?: Partial<KlaxonConfig['engine']>;
  source: Record<string, unknown> & { type: SourceConfig['type'] };
  sink: Record<string, unknown> & { type: SinkConfig['type'] };
  deadLetter?: Record<string, unknown> & { type: SinkConfig['type'] };
  state?: Record<string, unknown> & { type: StateConfig['type'] };
  window?: { size?: number; pane?: Duration };
  mode?: Mode;
  guarantee?: Guarantee;
  rules: Array<Record<string, unknown> & { id: string; type: Rule['type']; mode?: Mode }>;
  http?: Partial<HttpConfig>;
  log?: Partial<LogConfig>;
}

class Normaliser {
  readonly issues: string[] = [];
  constructor(private readonly baseDir: string) {}

  config(input: RawConfig): KlaxonConfig {
    const paneMs = this.duration(input.window?.pane ?? defaults.window.pane, '/window/pane');
    const mode = input.mode ?? (defaults.mode as Mode);
    if (input.guarantee === 'exactly-once') {
      for (const part of ['source', 'sink', 'deadLetter'] as const) {
        if (input[part]?.type !== 'kafka') this.issues.push(`/${part}/type: exactly-once needs Kafka in and out (transactions commit alerts with offsets)`);
      }
    }
    if (input.state?.type === 'redis' && input.source.type !== 'kafka') {
      this.issues.push('/state/type: the redis state store needs a kafka source (snapshots resume from Kafka offsets; a file is read from its start)');
    }
    return {
      engine: { ...defaults.engine, ...input.engine },
      window: { size: input.window?.size ?? defaults.window.size, paneMs },
      mode,
      guarantee: input.guarantee ?? (defaults.guarantee as Guarantee),
      rules: this.rules(input.rules, mode, paneMs),
      source: this.source(input.source),
      sink: this.sink(input.sink, '/sink'),
      deadLetter: this.sink(input.deadLetter ?? { ...defaults.deadLetter }, '/deadLetter'),
      state: this.state(input.state ?? { ...defaults.state }),
      ...(input.http === undefined ? {} : { http: { ...defaults.http, ...input.http } }),
      // Absent unless configured, so KLAXON_LOG_LEVEL still applies when the config says nothing.
      ...(input.log === undefined ? {} : { log: { level: input.log.level ?? (defaults.log.level as LogLevel) } }),
    };
  }

  private rules(rules: RawConfig['rules'], globalMode: Mode, paneMs: number): Rule[] {
    const seen = new Map<string, number>();
    return rules.map((rule, i) => {
      const at = `/rules/${i}`;
      const first = seen.get(rule.id);
      if (first !== undefined) this.issues.push(`${at}/id: duplicate rule id "${rule.id}" (first at /rules/${first})`);
      else seen.set(rule.id, i);
      const base = { id: rule.id, mode: rule.mode ?? globalMode };
      switch (rule.type) {
        case 'threshold': {
          const above = rule.above as number | undefined;
          const below = rule.below as number | undefined;
          if (above === undefined && below === undefined) this.issues.push(`${at}: a threshold rule needs "above", "below" or both`);
          return { ...base, type: 'threshold', ...(above === undefined ? {} : { above }), ...(below === undefined ? {} : { below }) };
        }
        case 'zscore': {
          const d = defaults.rules.zscore;
          return { ...base, type: 'zscore', k: (rule.k as number) ?? d.k, minSamples: (rule.minSamples as number) ?? d.minSamples };
        }
        case 'window_avg': {
          const d = defaults.rules.window_avg;
          return {
            ...base,
            type: 'window_avg',
            spanMs: this.panes((rule.span as Duration) ?? d.span, `${at}/span`, paneMs),
            abovePct: (rule.abovePct as number) ?? d.abovePct,
            minSamples: (rule.minSamples as number) ?? d.minSamples,
          };
        }
        case 'rate_of_change': {
          const d = defaults.rules.rate_of_change;
          return {
            ...base,
            type: 'rate_of_change',
            lagMs: this.panes((rule.lag as Duration) ?? d.lag, `${at}/lag`, paneMs),
            pct: (rule.pct as number) ?? d.pct,
            direction: (rule.direction as 'up' | 'down' | 'both') ?? d.direction,
          };
        }
      }
    });
  }

  private source(source: RawConfig['source']): SourceConfig {
    switch (source.type) {
      case 'file':
        return { type: 'file', path: this.path(source.path as string) };
      case 'stdin':
        return { type: 'stdin' };
      case 'generator': {
        const g = { ...defaults.generator, ...source };
        const zones = g.zones as number;
        const step = source.step === undefined ? Math.max(1, Math.round(1000 / zones)) : this.duration(source.step as Duration, '/source/step');
        return {
          type: 'generator',
          zones,
          devicesPerZone: g.devicesPerZone as number,
          rate: g.rate as number,
          ...(source.count === undefined ? {} : { count: source.count as number }),
          seed: g.seed as number,
          clock: g.clock as 'wall' | 'simulated',
          startTs: g.startTs as number,
          stepMs: step,
          spikeRate: g.spikeRate as number,
          heatWaveRate: g.heatWaveRate as number,
          badRate: g.badRate as number,
        };
      }
      case 'kafka': {
        const k = defaults.kafka;
        return {
          type: 'kafka',
          brokers: brokerList(source.brokers ?? k.brokers),
          topic: source.topic as string,
          groupId: source.groupId as string,
          clientId: (source.clientId as string) ?? k.clientId,
          fromBeginning: (source.fromBeginning as boolean) ?? k.fromBeginning,
          keyIsZoneId: (source.keyIsZoneId as boolean) ?? k.keyIsZoneId,
          partitions: (source.partitions as number) ?? k.partitions,
          commitIntervalMs: this.duration((source.commitInterval as Duration) ?? k.commitInterval, '/source/commitInterval'),
        };
      }
    }
  }

  private sink(sink: NonNullable<RawConfig['deadLetter']>, at: string): SinkConfig {
    switch (sink.type) {
      case 'file':
        return { type: 'file', path: this.path(sink.path as string) };
      case 'stdout':
        return { type: 'stdout', format: (sink.format as 'json' | 'pretty') ?? 'json' };
      case 'kafka': {
        const k = defaults.kafka;
        return {
          type: 'kafka',
          brokers: brokerList(sink.brokers ?? k.brokers),
          topic: sink.topic as string,
          clientId: (sink.clientId as string) ?? k.clientId,
          partitions: (sink.partitions as number) ?? k.partitions,
          lingerMs: this.duration((sink.linger as Duration) ?? k.linger, `${at}/linger`),
        };
      }
    }
  }

  private state(state: NonNullable<RawConfig['state']>): StateConfig {
    if (state.type === 'memory') return { type: 'memory' };
    const r = defaults.redis;
    return {
      type: 'redis',
      url: (state.url as string) ?? r.url,
      prefix: (state.prefix as string) ?? r.prefix,
      snapshotIntervalMs: this.duration((state.snapshotInterval as Duration) ?? r.snapshotInterval, '/state/snapshotInterval'),
    };
  }

  private duration(value: Duration, at: string): number {
    const ms = parseDuration(value);
    if (ms === undefined) {
      this.issues.push(`${at}: ${JSON.stringify(value)} is not a whole number of milliseconds`);
      return Number.NaN;
    }
    return ms;
  }

  private panes(value: Duration, at: string, paneMs: number): number {
    const ms = this.duration(value, at);
    if (Number.isNaN(ms) || Number.isNaN(paneMs)) return ms;
    if (ms % paneMs !== 0 || ms === 0) {
      this.issues.push(`${at}: ${formatDuration(ms)} is not a whole number of panes (window.pane is ${formatDuration(paneMs)})`);
    }
    return ms;
  }

  private path(path: string): string {
    return resolve(this.baseDir, path);
  }
}

function brokerList(value: unknown): string[] {
  const list = Array.isArray(value) ? (value as string[]) : String(value).split(',');
  return list.map((b) => b.trim()).filter((b) => b.length > 0);
}
