import { availableParallelism, hostname } from 'node:os';

/** Defaults for every optional key of cluster.config.json (see the README's configuration reference). */
export const defaults = {
  engine: {
    workers: Math.max(1, availableParallelism()),
    batchSize: 1_000,
    maxQueuePerWorker: 4,
    virtualNodes: 128,
    instanceId: process.env.KLAXON_INSTANCE_ID ?? `klaxon-${hostname()}`,
  },
  guarantee: 'at-least-once',
  window: { size: 500, pane: 1_000 },
  mode: 'edge',
  state: { type: 'memory' },
  deadLetter: { type: 'file', path: 'dead-letters.ndjson' },
  rules: {
    zscore: { k: 3, minSamples: 30 },
    window_avg: { span: 300_000, abovePct: 0, minSamples: 1 },
    rate_of_change: { lag: 300_000, pct: 10, direction: 'up' },
  },
  generator: {
    zones: 1_000,
    devicesPerZone: 4,
    rate: 0,
    seed: 42,
    clock: 'simulated',
    startTs: 1_760_000_000_000,
    spikeRate: 0.002,
    heatWaveRate: 0.0003,
    badRate: 0,
  },
  kafka: {
    brokers: ['127.0.0.1:9092'],
    clientId: 'klaxon',
    fromBeginning: true,
    keyIsZoneId: true,
    partitions: 6,
    commitInterval: 1_000,
    linger: 5,
  },
  http: { port: 9464, host: '127.0.0.1', dashboard: false },
  log: { level: 'info' },
  redis: { url: 'redis://127.0.0.1:6379', prefix: 'klaxon', snapshotInterval: 5_000 },
} as const;
