/** The validated, normalised configuration the engine runs with (durations in ms, paths absolute). */

export type Mode = 'edge' | 'every';
export type Guarantee = 'at-least-once' | 'exactly-once';
export type Direction = 'up' | 'down' | 'both';

export interface ThresholdRule {
  id: string;
  type: 'threshold';
  mode: Mode;
  above?: number;
  below?: number;
}
export interface ZscoreRule {
  id: string;
  type: 'zscore';
  mode: Mode;
  k: number;
  minSamples: number;
}
export interface WindowAvgRule {
  id: string;
  type: 'window_avg';
  mode: Mode;
  spanMs: number;
  abovePct: number;
  minSamples: number;
}
export interface RateOfChangeRule {
  id: string;
  type: 'rate_of_change';
  mode: Mode;
  lagMs: number;
  pct: number;
  direction: Direction;
}
export type Rule = ThresholdRule | ZscoreRule | WindowAvgRule | RateOfChangeRule;
export type RuleType = Rule['type'];

export interface WindowConfig {
  /** W: how many accepted values the history keeps. */
  size: number;
  /** g: pane width in ms. */
  paneMs: number;
}

/** Everything a worker needs to compute alerts; also the identity of a snapshot's meaning. */
export interface RulesConfig {
  window: WindowConfig;
  rules: Rule[];
}

export interface FileSourceConfig {
  type: 'file';
  path: string;
}
export interface StdinSourceConfig {
  type: 'stdin';
}
export interface GeneratorSourceConfig {
  type: 'generator';
  zones: number;
  devicesPerZone: number;
  /** Readings per second; 0 means as fast as the engine takes them. */
  rate: number;
  /** Total readings; undefined means endless. */
  count?: number;
  seed: number;
  /** "wall": ts is the time of generation. "simulated": ts advances by stepMs per reading. */
  clock: 'wall' | 'simulated';
  startTs: number;
  stepMs: number;
  spikeRate: number;
  heatWaveRate: number;
  badRate: number;
}
export interface KafkaSourceConfig {
  type: 'kafka';
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  fromBeginning: boolean;
  /** Whether record keys are the zone_id (routing skips parsing). */
  keyIsZoneId: boolean;
  partitions: number;
  commitIntervalMs: number;
}
export type SourceConfig = FileSourceConfig | StdinSourceConfig | GeneratorSourceConfig | KafkaSourceConfig;

export interface FileSinkConfig {
  type: 'file';
  path: string;
}
export interface StdoutSinkConfig {
  type: 'stdout';
  format: 'json' | 'pretty';
}
export interface KafkaSinkConfig {
  type: 'kafka';
  brokers: string[];
  topic: string;
  clientId: string;
  partitions: number;
  lingerMs: number;
}
export type SinkConfig = FileSinkConfig | StdoutSinkConfig | KafkaSinkConfig;

export interface MemoryStateConfig {
  type: 'memory';
}
export interface RedisStateConfig {
  type: 'redis';
  url: string;
  prefix: string;
  snapshotIntervalMs: number;
}
export type StateConfig = MemoryStateConfig | RedisStateConfig;

export interface EngineOptions {
  /** Worker threads; each owns the zones the ring gives it. */
  workers: number;
  /** Records per task sent to a worker. */
  batchSize: number;
  /** Tasks queued per worker before the coordinator waits (backpressure). */
  maxQueuePerWorker: number;
  /** Virtual nodes per worker on the consistent-hash ring. */
  virtualNodes: number;
  /** Stable name of this engine process (its Kafka transactional id): distinct per process, the same across its restarts. */
  instanceId: string;
}

/** The operator's HTTP port: Prometheus metrics, health checks and (optionally) the live dashboard. */
export interface HttpConfig {
  /** 0: any free port (the demo). */
  port: number;
  host: string;
  /** Serve the web dashboard at / (off in production configs unless asked for). */
  dashboard: boolean;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export interface LogConfig {
  level: LogLevel;
}

export interface KlaxonConfig extends RulesConfig {
  engine: EngineOptions;
  source: SourceConfig;
  sink: SinkConfig;
  deadLetter: SinkConfig;
  state: StateConfig;
  mode: Mode;
  /** at-least-once: alerts written at once, a replay may repeat some (same alert_id). exactly-once: alerts, dead letters and offsets in one Kafka transaction per commit. */
  guarantee: Guarantee;
  /** Metrics, health and dashboard endpoints; undefined: no HTTP server. */
  http?: HttpConfig;
  /** Structured logs (pino on stderr). */
  log?: LogConfig;
  /** Where the config came from, for messages; undefined when built in code. */
  file?: string;
}
