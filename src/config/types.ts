import type { z } from 'zod';
import type { configSchema } from './schema.js';

/**
 * The validated, normalised configuration the engine runs with (durations in ms,
 * paths absolute), named part by part. Every type here is read off the one
 * declaration in schema.ts.
 */
type Normalised = z.output<typeof configSchema>;

export interface KlaxonConfig extends Normalised {
  /** Where the config came from, for messages; undefined when built in code. */
  file?: string;
}

/** Everything a worker needs to compute alerts: the window (what state is) and the rule set's versions. */
export type RulesConfig = Pick<KlaxonConfig, 'window' | 'versions'>;
/** `size` (W) accepted values of history; `paneMs` (g) the pane width; `retain` (R) panes kept. The identity of a snapshot's meaning. */
export type WindowConfig = KlaxonConfig['window'];
/** One version of the rule set: in force for readings with ts from `effectiveFrom` until the next version's. */
export type RuleVersion = KlaxonConfig['versions'][number];

export type Mode = KlaxonConfig['mode'];
export type Guarantee = KlaxonConfig['guarantee'];

export type Rule = RuleVersion['rules'][number];
export type Severity = Rule['severity'];
export type RuleType = Rule['type'];
export type ThresholdRule = Extract<Rule, { type: 'threshold' }>;
export type ZscoreRule = Extract<Rule, { type: 'zscore' }>;
export type WindowAvgRule = Extract<Rule, { type: 'window_avg' }>;
export type RateOfChangeRule = Extract<Rule, { type: 'rate_of_change' }>;
export type Direction = RateOfChangeRule['direction'];
/** An override as parsed: `zones` and the parameters it replaces. */
export type RuleOverride = Rule['overrides'][number];

export type SourceConfig = KlaxonConfig['source'];
export type FileSourceConfig = Extract<SourceConfig, { type: 'file' }>;
export type StdinSourceConfig = Extract<SourceConfig, { type: 'stdin' }>;
export type GeneratorSourceConfig = Extract<SourceConfig, { type: 'generator' }>;
export type KafkaSourceConfig = Extract<SourceConfig, { type: 'kafka' }>;

export type SinkConfig = KlaxonConfig['sink'];
export type FileSinkConfig = Extract<SinkConfig, { type: 'file' }>;
export type StdoutSinkConfig = Extract<SinkConfig, { type: 'stdout' }>;
export type KafkaSinkConfig = Extract<SinkConfig, { type: 'kafka' }>;

export type StateConfig = KlaxonConfig['state'];
export type MemoryStateConfig = Extract<StateConfig, { type: 'memory' }>;
export type RedisStateConfig = Extract<StateConfig, { type: 'redis' }>;

/** Worker count, batch size, backpressure, ring and the process's stable instanceId. */
export type EngineOptions = KlaxonConfig['engine'];
/** The operator's HTTP port: Prometheus metrics, health checks and (optionally) the live dashboard. */
export type HttpConfig = NonNullable<KlaxonConfig['http']>;
export type LogConfig = NonNullable<KlaxonConfig['log']>;
export type LogLevel = LogConfig['level'];

/** A sink fed from the record sink's alerts: where people are paged. */
export type DeliveryConfig = KlaxonConfig['deliveries'][number];
export type AlertmanagerConfig = Extract<DeliveryConfig, { type: 'alertmanager' }>;
export type WebhookConfig = Extract<DeliveryConfig, { type: 'webhook' }>;
export type DeliveryFilter = NonNullable<DeliveryConfig['filter']>;
