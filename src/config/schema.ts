import { z } from 'zod';
import { defaultInstanceId, defaultWorkers } from './defaults.js';
import { duration, mode, modeDescription, text } from './fields.js';
import { checkRuleSets, type ParsedVersion, retainOf, rulesSchema, versionSchema, withDefaults } from './rules-schema.js';

/**
 * cluster.config.json, declared once: the keys, their defaults, their checks and
 * how each normalises (durations to `…Ms`, brokers to a list, rule modes filled
 * in). `z.input` is what a person writes and what `klaxon schema` publishes;
 * `z.output` is the KlaxonConfig the engine runs with (see types.ts). Two things
 * happen outside, in load.ts, because they need the caller's context: `${VAR}`
 * expansion before parsing and resolving relative paths after.
 *
 * Defaults: `.default(value)` where the key is taken as written; `.prefault(value)`
 * where it normalises (durations, brokers, sections): the value is then written
 * as a person would write it, parsed like one, and shown as such in the schema.
 */

/** A path; relative ones resolve against the config file's folder (in load.ts). */
const filePath = text.meta({ description: "A file; relative paths resolve against the config file's folder." });

const brokers = z
  .union([z.array(text).min(1), text], 'must be a list of "host:port" strings, or one string of them separated by commas')
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((broker) => broker.trim()).filter((broker) => broker.length > 0))
  .prefault(['127.0.0.1:9092'])
  .meta({ description: 'Kafka bootstrap brokers: a list, or one comma-separated string.' });

const clientId = text.default('klaxon').meta({ description: 'Kafka client id.' });
const partitions = z.int().min(1).default(6).meta({ description: 'Partitions of the topic when Klaxon creates it.' });

// Sources

const fileSource = z.strictObject({ type: z.literal('file'), path: filePath }).meta({ description: 'Reads NDJSON readings from a file, then stops.' });

const stdinSource = z.strictObject({ type: z.literal('stdin') }).meta({ description: 'Reads NDJSON readings from standard input.' });

const share = (description: string) => z.number().min(0).max(1).meta({ description });

const generatorSource = z
  .strictObject({
    type: z.literal('generator'),
    zones: z.int().min(1).default(1_000),
    devicesPerZone: z.int().min(1).default(4),
    rate: z.number().min(0).default(0).meta({ description: 'Readings per second; 0: as fast as the engine takes them.' }),
    count: z.int().min(0).optional().meta({ description: 'Total readings; absent: endless.' }),
    seed: z.int().default(42),
    clock: z
      .enum(['wall', 'simulated'])
      .default('simulated')
      .meta({ description: '"wall": ts is the time of generation. "simulated": ts advances by step per reading.' }),
    startTs: z.int().min(0).default(1_760_000_000_000).meta({ description: 'First ts of the simulated clock (ms since the epoch).' }),
    step: duration(0, 'Simulated time between readings; default: one second spread over the zones.').optional(),
    spikeRate: share('Share of readings that spike.').default(0.002),
    heatWaveRate: share('Chance per reading that a zone starts a heat wave.').default(0.0003),
    badRate: share('Share of readings that are malformed (dead letters).').default(0),
  })
  .transform(({ step, ...generator }) => ({ ...generator, stepMs: step ?? Math.max(1, Math.round(1_000 / generator.zones)) }))
  .meta({ description: 'Generates a synthetic plant: zones of devices, with spikes and heat waves.' });

const kafkaSource = z
  .strictObject({
    type: z.literal('kafka'),
    brokers,
    topic: text,
    groupId: text,
    clientId,
    fromBeginning: z.boolean().default(true).meta({ description: 'Where a new consumer group starts: the earliest offset (true) or the latest (false).' }),
    requireZoneKey: z.boolean().default(false).meta({
      description:
        'Dead-letter records whose Kafka key is not their zone_id. Per-zone order (and so the alerts) is defined only when readings are keyed by zone_id; by default such records are processed, counted and warned about.',
    }),
    partitions,
    commitInterval: duration(1, 'How often offsets commit (and, exactly-once, how often transactions commit).').prefault('1s'),
    fetchMinBytes: z
      .int()
      .min(1)
      .max(4 << 20)
      .default(65_536)
      .meta({
        description:
          "Kafka's fetch.min.bytes: the broker answers a fetch once this many bytes are ready, or after fetchMaxWait. Each fetch costs the engine CPU whatever it holds, so larger fetches leave more CPU for the rest; when readings trickle in, every fetch waits fetchMaxWait.",
      }),
    fetchMaxWait: duration(0, "Kafka's fetch.max.wait.ms: how long the broker holds a fetch waiting for fetchMinBytes.").prefault('10ms'),
    recordDecoder: z.enum(['klaxon', 'kafkajs']).default('klaxon').meta({
      description:
        "Who decodes fetched record batches: Klaxon's decoder (the same records as kafkajs's, at less than half its CPU; anything unusual is handed to kafkajs's) or kafkajs's own. One choice per process.",
    }),
    rulesTopic: text.optional().meta({
      description:
        'The deployment\'s rules channel: a compacted topic of rule set versions, keyed by version, that every engine process reads at start and follows (`klaxon rules apply` publishes to it). Default: "<topic>.rules".',
    }),
  })
  .transform(({ commitInterval, fetchMaxWait, rulesTopic, ...kafka }) => ({
    ...kafka,
    commitIntervalMs: commitInterval,
    fetchMaxWaitMs: fetchMaxWait,
    rulesTopic: rulesTopic ?? `${kafka.topic}.rules`,
  }))
  .meta({ description: 'Consumes readings from a Kafka topic as a consumer group.' });

const source = z.discriminatedUnion('type', [fileSource, stdinSource, generatorSource, kafkaSource]);

// Sinks (alerts and dead letters)

const fileSink = z.strictObject({ type: z.literal('file'), path: filePath }).meta({ description: 'Appends NDJSON to a file.' });

const stdoutSink = z
  .strictObject({ type: z.literal('stdout'), format: z.enum(['json', 'pretty']).default('json') })
  .meta({ description: 'Writes to standard output.' });

const kafkaSink = z
  .strictObject({
    type: z.literal('kafka'),
    brokers,
    topic: text,
    clientId,
    partitions,
    linger: duration(
      0,
      'How long alerts wait for company when no send is out (0: sent at once). Alerts found while a send is out go in the next one, as soon as it is back.',
    ).prefault('0ms'),
    transactionTimeout: duration(
      1,
      'Exactly-once: how long the broker lets a transaction stay open before aborting it (a crashed or paused engine holds read_committed readers back at most this long).',
    ).prefault('30s'),
  })
  .transform(({ linger, transactionTimeout, ...kafka }) => ({ ...kafka, lingerMs: linger, transactionTimeoutMs: transactionTimeout }))
  .meta({ description: 'Produces to a Kafka topic, keyed by zone.' });

const sink = z.discriminatedUnion('type', [fileSink, stdoutSink, kafkaSink]);

// Deliveries: alerts fed, once they are durable in the record sink, to where people are paged

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const filter = z
  .strictObject({
    severity: z.array(text).min(1).optional().meta({ description: 'Severities to deliver; an alert without one counts as "warning".' }),
    rules: z.array(text).min(1).optional().meta({ description: 'Rule ids to deliver.' }),
    zones: z
      .array(text)
      .min(1)
      .optional()
      .meta({ description: 'Globs matched against the whole zone_id: * any run of characters, ? one character (no escapes).' }),
    status: z
      .array(z.enum(['firing', 'resolved']))
      .min(1)
      .optional(),
  })
  .meta({ description: 'Which alerts this sink gets: every criterion given must match (within one, any of its values). Absent: every alert.' });

const deliveryName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, "_", "." or "-"')
  .optional()
  .meta({ description: 'Names the sink in metrics (label `sink`) and logs. Default: its type; two sinks of one type need names.' });

const headers = z.record(text, z.string()).default({}).meta({ description: 'Extra HTTP headers, e.g. Authorization (never logged).' });

const retry = z
  .strictObject({
    minDelay: duration(1, 'Wait before the first retry; each later one waits twice as long, with jitter.').prefault('200ms'),
    maxDelay: duration(1, 'Longest wait between two tries.').prefault('30s'),
    maxAttempts: z.int().min(1).optional().meta({ description: 'Tries per batch before it is given up (counted as failed). Absent: until delivered.' }),
  })
  .prefault({})
  .transform(({ minDelay, maxDelay, maxAttempts }) => ({ minDelayMs: minDelay, maxDelayMs: Math.max(minDelay, maxDelay), maxAttempts }))
  .meta({ description: 'Failed requests (network errors, timeouts, 408, 429, 5xx) are retried with exponential backoff and jitter.' });

/** What every delivery sink has: a name, a filter, a bounded queue, retries and timeouts. */
const deliveryBase = {
  name: deliveryName,
  filter: filter.optional(),
  queueSize: z.int().min(1).max(10_000_000).default(10_000).meta({ description: 'Alerts waiting to be sent, at most.' }),
  overflow: z.enum(['drop-oldest', 'block']).default('drop-oldest').meta({
    description:
      '"drop-oldest": a full queue drops its oldest alerts (counted and logged); intake never waits. "block": a full queue holds the engine back until there is room.',
  }),
  batchSize: z.int().min(1).max(10_000).default(100).meta({ description: 'Alerts per request, at most.' }),
  linger: duration(0, 'How long a batch may wait to fill before it is sent (0: at once).').prefault('50ms'),
  timeout: duration(1, 'How long one request may take.').prefault('10s'),
  retry,
  drainTimeout: duration(0, 'At shutdown, how long to keep sending what is queued before giving it up.').prefault('5s'),
  headers,
};

/** An Alertmanager label name (Prometheus' classic rule, which every Alertmanager accepts). */
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name: a letter or "_", then letters, digits or "_"');

const alertmanagerSink = z
  .strictObject({
    type: z.literal('alertmanager'),
    ...deliveryBase,
    urls: z
      .union([z.array(httpUrl).min(1), httpUrl], 'must be a list of Alertmanager URLs, or one')
      .transform((value) => (Array.isArray(value) ? value : [value]))
      .meta({ description: 'Each Alertmanager of the cluster (its base URL); every alert goes to all of them.' }),
    labels: z.record(labelName, z.string()).default({}).meta({ description: 'Static labels added to every alert.' }),
    resendInterval: duration(1, 'How often FIRING alerts are sent again; each stays valid for 4 such intervals.').prefault('1m'),
  })
  .transform(({ timeout, drainTimeout, resendInterval, linger, ...sink }) => ({
    ...sink,
    lingerMs: linger,
    timeoutMs: timeout,
    drainTimeoutMs: drainTimeout,
    resendIntervalMs: resendInterval,
  }))
  .meta({ description: 'Prometheus Alertmanager (API v2): labels alertname, zone_id, severity, rule_type; FIRING alerts re-sent until resolved.' });

const webhookSink = z
  .strictObject({
    type: z.literal('webhook'),
    ...deliveryBase,
    url: httpUrl,
    secret: text.optional().meta({ description: 'Signs each body: header X-Klaxon-Signature: sha256=<hex HMAC-SHA256 of the body> (never logged).' }),
  })
  .transform(({ timeout, drainTimeout, linger, ...sink }) => ({ ...sink, lingerMs: linger, timeoutMs: timeout, drainTimeoutMs: drainTimeout }))
  .meta({ description: 'POSTs batches {"alerts": [...]} as JSON; each alert carries its alert_id, for deduplication.' });

const anySink = z.discriminatedUnion('type', [fileSink, stdoutSink, kafkaSink, alertmanagerSink, webhookSink]);

// State

const memoryState = z.strictObject({ type: z.literal('memory') }).meta({ description: 'Zone state lives in the workers; a restart starts empty.' });

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const redisCluster = z
  .union([z.array(text).min(1), text], 'must be a list of Redis Cluster nodes ("redis://host:port" or "host:port"), or one string of them separated by commas')
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((node) => node.trim()).filter((node) => node.length > 0))
  .meta({
    description:
      'A Redis Cluster instead of one Redis (not with url): some of its nodes, "redis://[:password@]host:port" or "host:port"; the rest are discovered. A list, or one comma-separated string. Each partition\'s keys share one hash slot.',
  });

const redisState = z
  .strictObject({
    type: z.literal('redis'),
    url: text.optional().meta({ description: `One Redis (not with cluster). Default: ${DEFAULT_REDIS_URL} when cluster is absent.` }),
    cluster: redisCluster.optional(),
    prefix: text.default('klaxon').meta({ description: 'Prefix of every Redis key.' }),
    snapshotInterval: duration(1, 'How often zone state is snapshotted.').prefault('5s'),
    maxZonesInMemory: z.int().min(1).optional().meta({
      description:
        "Tiering: at most this many zones stay in the workers' memory (each worker keeps its share); the least recently used zones whose state is saved in Redis are evicted after each snapshot and read back on their next reading, with the same alerts. Zones with a FIRING rule stay. Default: every zone stays in memory.",
    }),
  })
  .transform(({ snapshotInterval, url, cluster, ...redis }, ctx) => {
    const base = { ...redis, snapshotIntervalMs: snapshotInterval };
    if (cluster === undefined) return { ...base, url: url ?? DEFAULT_REDIS_URL };
    if (url !== undefined)
      ctx.addIssue({ code: 'custom', path: ['cluster'], input: cluster, message: 'give state.url (one Redis) or state.cluster (a Redis Cluster), not both' });
    if (cluster.length === 0) ctx.addIssue({ code: 'custom', path: ['cluster'], input: cluster, message: 'names no node' });
    // The partition's hash tag is "{prefix:topic:partition}": a brace in the prefix would end it early or start another.
    if (/[{}]/.test(redis.prefix))
      ctx.addIssue({
        code: 'custom',
        path: ['prefix'],
        input: redis.prefix,
        message: 'must not contain { or } with state.cluster (keys are hash-tagged {prefix:topic:partition})',
      });
    return { ...base, cluster };
  })
  .meta({
    description: 'Snapshots zone state to Redis (one server, or a Redis Cluster) per Kafka partition; a restart resumes from them (needs a kafka source).',
  });

const state = z.discriminatedUnion('type', [memoryState, redisState]);

// The whole file

const engine = z
  .strictObject({
    workers: z
      .int()
      .min(1)
      .max(256)
      .optional()
      .meta({ description: 'Worker threads; each owns the zones the ring gives it. Default: one per available core.' }),
    // 4,000 and not 1,000: on a backlog each task costs the coordinator a hand-off whatever it holds; 52–55% of the plain consumer's
    // throughput against 45–48% (bench/results/kafka-throughput-batch-size.md). A steady stream's fetches are far smaller either way.
    batchSize: z
      .int()
      .min(1)
      .max(100_000)
      .default(4_000)
      .meta({ description: 'Records per task sent to a worker, at most: a backlog is cut into tasks of this many; a steady stream goes as it is fetched.' }),
    maxQueuePerWorker: z.int().min(1).max(1_000).default(4).meta({ description: 'Tasks queued per worker before the coordinator waits (backpressure).' }),
    virtualNodes: z.int().min(1).max(4_096).default(128).meta({ description: 'Virtual nodes per worker on the consistent-hash ring.' }),
    instanceId: z.string().min(1).max(200).optional().meta({
      description:
        'Stable name of this engine process (its Kafka transactional id): distinct per process, the same across its restarts. Default: $KLAXON_INSTANCE_ID, else "klaxon-<hostname>".',
    }),
  })
  .prefault({})
  .transform(({ workers, instanceId, ...engine }) => ({ workers: workers ?? defaultWorkers(), ...engine, instanceId: instanceId ?? defaultInstanceId() }))
  .meta({ description: 'How the engine runs: worker threads, batching, backpressure, the hash ring.' });

const window = z
  .strictObject({
    size: z.int().min(1).max(1_000_000).default(500).meta({ description: 'W: how many accepted values the history of a zone keeps (for mean and σ).' }),
    pane: duration(1, 'g: pane width of the time rules.').prefault('1s'),
    retain: z.int().min(0).max(1_000_000).optional().meta({
      description:
        "R: panes each zone keeps for the time rules, fixed for the state's lifetime (changing it needs `klaxon state reset`). Default: what the first version's rules need (the largest span, or lag + 1, in panes, overrides included).",
    }),
  })
  .prefault({})
  .transform(({ size, pane, retain }) => ({ size, paneMs: pane, retain }))
  .meta({ description: 'The statistics every zone keeps: its history and its time panes. Rules may change live; the window may not.' });

const http = z
  .strictObject({
    port: z.int().min(0).max(65_535).default(9464).meta({ description: '0: any free port.' }),
    host: text.default('127.0.0.1'),
    dashboard: z.boolean().default(false).meta({ description: 'Serve the live web dashboard at /.' }),
    externalUrl: httpUrl.optional().meta({
      description: "The dashboard's address as people reach it (Alertmanager alerts link to their zone there). Default: the address it listens on.",
    }),
  })
  .optional()
  .meta({ description: 'Prometheus metrics, health checks and (optionally) the live dashboard. Absent: no HTTP server.' });

const log = z
  .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
  // Absent unless configured, so KLAXON_LOG_LEVEL still applies when the config says nothing.
  .optional()
  .meta({ description: 'Structured logs (pino, on stderr).' });

const shape = z.strictObject({
  $schema: z.string().optional().meta({ description: 'For editors; ignored.' }),
  engine,
  source: source.meta({ description: 'Where readings come from.' }),
  sink: sink.optional().meta({ description: 'Where alerts go (the system of record). Shorthand for "sinks" with one entry.' }),
  sinks: z.array(anySink).min(1).optional().meta({
    description:
      'Where alerts go: exactly one record sink (file, stdout or kafka: the system of record) and any number of deliveries (alertmanager, webhook), which get alerts once the record sink holds them.',
  }),
  deadLetter: sink.prefault({ type: 'file', path: 'dead-letters.ndjson' }).meta({ description: 'Where readings that fail validation go.' }),
  shadowSink: sink.optional().meta({ description: 'Where the alerts of shadow rules go (same types as sink). Absent: they are counted, not written.' }),
  state: state.prefault({ type: 'memory' }).meta({ description: 'Where zone state is kept across restarts.' }),
  window,
  mode: mode.default('edge').meta({ description: modeDescription }),
  guarantee: z.enum(['at-least-once', 'exactly-once']).default('at-least-once').meta({
    description:
      'at-least-once: alerts written at once, a replay may repeat some (same alert_id). exactly-once: alerts, dead letters and offsets in one Kafka transaction per commit.',
  }),
  connectTimeout: duration(
    1,
    'How long start-up waits for Kafka and Redis to answer before it stops with an error naming them. Once started, an outage is waited out (retries and backpressure), never an exit.',
  ).prefault('10s'),
  http,
  log,
  rules: rulesSchema
    .optional()
    .meta({ description: 'The alert rules, each with a unique id: version 1 of the rule set, in force from 0. Give rules or versions.' }),
  versions: z.array(versionSchema).min(1).optional().meta({
    description:
      'Versions of the rule set, strictly increasing in version and effectiveFrom, the first at 0; each reading is evaluated under the version in force at its ts. Give rules or versions.',
  }),
  rulesFile: filePath.optional().meta({
    description:
      'File and stdin jobs: a JSON file holding the rule set ({"versions": [...]} or {"rules": [...]}) instead of this config; `klaxon rules apply` adds versions to it and a running engine picks them up.',
  }),
});

type Shape = z.output<typeof shape>;

type RecordSink = z.output<typeof sink>;
type AnySink = z.output<typeof anySink>;
type Delivery = Extract<AnySink, { type: 'alertmanager' | 'webhook' }>;

/** `sink` or `sinks` → the one record sink and the deliveries, each delivery named. */
function splitSinks(
  single: RecordSink | undefined,
  list: AnySink[] | undefined,
  ctx: z.RefinementCtx,
): { sink: RecordSink; deliveries: Array<Delivery & { name: string }> } | undefined {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, input: list, message });
  if (single !== undefined && list !== undefined) {
    issue(['sinks'], 'give "sink" or "sinks", not both');
    return undefined;
  }
  if (list === undefined) {
    if (single === undefined) ctx.addIssue({ code: 'custom', path: ['sink'], input: undefined, message: 'required (or "sinks", a list)' });
    return single === undefined ? undefined : { sink: single, deliveries: [] };
  }
  let record: RecordSink | undefined;
  const deliveries: Array<Delivery & { name: string }> = [];
  const named = new Set<string>();
  list.forEach((entry, i) => {
    if (entry.type !== 'alertmanager' && entry.type !== 'webhook') {
      if (record === undefined) record = entry;
      else issue(['sinks', i, 'type'], 'a second record sink: "sinks" holds exactly one file, stdout or kafka sink (the system of record)');
      return;
    }
    const name = entry.name ?? entry.type;
    if (named.has(name)) issue(['sinks', i, 'name'], `two sinks are named "${name}": give each delivery its own "name"`);
    named.add(name);
    if (entry.type === 'alertmanager') checkAlertmanager(entry, (path, message) => issue(['sinks', i, ...path], message));
    deliveries.push({ ...entry, name });
  });
  if (record === undefined) issue(['sinks'], 'needs one record sink (file, stdout or kafka): the system of record that deliveries are fed from');
  return record === undefined ? undefined : { sink: record, deliveries };
}

const RESERVED_LABELS = new Set(['alertname', 'zone_id', 'severity', 'rule_type']);

/** Follows firing and resolved alike, with labels of its own and each Alertmanager once. */
function checkAlertmanager(sink: Extract<Delivery, { type: 'alertmanager' }>, issue: (path: string[], message: string) => void): void {
  if (sink.filter?.status !== undefined) {
    issue(['filter', 'status'], 'an alertmanager sink takes firing and resolved alerts alike (an alert whose resolve it never got would stay active)');
  }
  for (const label of Object.keys(sink.labels)) {
    if (RESERVED_LABELS.has(label)) issue(['labels', label], `"${label}" is set from each alert`);
  }
  const origins = new Set<string>();
  for (const url of sink.urls) {
    const origin = new URL(url).origin;
    if (origins.has(origin)) issue(['urls'], `two URLs at ${origin}: list each Alertmanager of the cluster once`);
    origins.add(origin);
  }
}

/**
 * What a well-formed config must also mean. Runs once the shape is right, and
 * reports every problem it finds, as the shape checks do.
 */
function checkMeaning(config: Shape, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: 'custom', path, input, message });
  if (config.rules !== undefined && config.versions !== undefined) issue(['versions'], config.versions, 'give either rules or versions, not both');
  if (config.rules === undefined && config.versions === undefined) issue(['rules'], undefined, 'required (or versions)');
  const sets: ParsedVersion[] = config.versions ?? (config.rules === undefined ? [] : [{ version: 1, effectiveFrom: 0, rules: config.rules }]);
  checkRuleSets(sets, (set) => (config.versions === undefined ? [] : ['versions', set]), {
    paneMs: config.window.paneMs,
    retain: config.window.retain,
    defaultMode: config.mode,
    issue,
  });
  if (config.guarantee === 'exactly-once') {
    for (const part of ['source', 'sink', 'deadLetter', 'shadowSink'] as const) {
      const type = config[part]?.type;
      if (type !== undefined && type !== 'kafka') issue([part, 'type'], type, 'exactly-once needs Kafka in and out (transactions commit alerts with offsets)');
    }
    config.sinks?.forEach((entry, i) => {
      if (entry.type === 'file' || entry.type === 'stdout') {
        issue(['sinks', i, 'type'], entry.type, 'exactly-once needs Kafka in and out (transactions commit alerts with offsets)');
      }
    });
  }
  if (config.state.type === 'redis' && config.source.type !== 'kafka') {
    issue(['state', 'type'], 'redis', 'the redis state store needs a kafka source (snapshots resume from Kafka offsets; a file is read from its start)');
  }
  if (config.rulesFile !== undefined && config.source.type === 'kafka') {
    issue(['rulesFile'], config.rulesFile, "a kafka job's versions come from its rules topic (source.rulesTopic); its config holds the first ones");
  }
}

/** The config the engine runs with: one list of versions (rules become version 1), modes filled in, the retained panes decided. */
function normalise({ $schema: _forEditors, rules, versions, connectTimeout, sink, sinks, ...config }: Shape, ctx: z.RefinementCtx) {
  const outputs = splitSinks(sink, sinks, ctx);
  if (outputs === undefined) return z.NEVER;
  const sets = versions ?? [{ version: 1, effectiveFrom: 0, rules: rules ?? [] }];
  const filled = sets.map((set) => ({ ...set, rules: set.rules.map((rule) => withDefaults(rule, config.mode)) }));
  const { size, paneMs } = config.window;
  const retain = config.window.retain ?? retainOf(filled[0]?.rules ?? [], paneMs);
  return { ...config, ...outputs, connectTimeoutMs: connectTimeout, window: { size, paneMs, retain }, versions: filled };
}

export const configSchema = shape.superRefine(checkMeaning).transform(normalise).meta({
  $id: 'https://klaxon.dev/schema/cluster.config.json',
  title: 'Klaxon cluster config',
  description: 'cluster.config.json: where a Klaxon engine reads sensor readings, which rules it applies and where its alerts go.',
});
