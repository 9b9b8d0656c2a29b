import { DURATION_PATTERN } from './durations.js';

/**
 * JSON Schema of cluster.config.json (draft-07). The single source of truth for
 * what keys exist; `klaxon schema` prints it so editors can complete configs.
 * Semantic checks (whole panes, unique ids) live in load.ts.
 */
const duration = { $ref: '#/definitions/duration' } as const;
const positiveDuration = { $ref: '#/definitions/positiveDuration' } as const;
const nonEmptyString = { type: 'string', minLength: 1 } as const;
const mode = { enum: ['edge', 'every'] } as const;
const brokers = {
  oneOf: [
    { type: 'array', items: nonEmptyString, minItems: 1 },
    { type: 'string', minLength: 1 },
  ],
} as const;

function closed(type: string, properties: Record<string, unknown>, required: string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...required],
    properties: { type: { const: type }, ...properties },
  };
}

const sinkSchema = {
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    closed('file', { path: nonEmptyString }, ['path']),
    closed('stdout', { format: { enum: ['json', 'pretty'] } }),
    closed(
      'kafka',
      {
        brokers,
        topic: nonEmptyString,
        clientId: nonEmptyString,
        partitions: { type: 'integer', minimum: 1 },
        linger: duration,
      },
      ['topic'],
    ),
  ],
};

const ruleBase = { id: { type: 'string', minLength: 1, maxLength: 256 }, mode };

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://klaxon.dev/schema/cluster.config.json',
  title: 'Klaxon cluster config',
  definitions: {
    duration: {
      description: 'milliseconds, or a string such as "500ms", "10s", "5m", "1h"',
      oneOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: DURATION_PATTERN },
      ],
    },
    positiveDuration: {
      description: 'milliseconds (at least 1), or a string such as "500ms", "10s", "5m", "1h"',
      oneOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', pattern: DURATION_PATTERN },
      ],
    },
  },
  type: 'object',
  additionalProperties: false,
  required: ['source', 'sink', 'rules'],
  properties: {
    $schema: { type: 'string' },
    engine: {
      type: 'object',
      additionalProperties: false,
      properties: {
        workers: { type: 'integer', minimum: 1, maximum: 256 },
        batchSize: { type: 'integer', minimum: 1, maximum: 100_000 },
        maxQueuePerWorker: { type: 'integer', minimum: 1, maximum: 1_000 },
        virtualNodes: { type: 'integer', minimum: 1, maximum: 4_096 },
        instanceId: { type: 'string', minLength: 1, maxLength: 200 },
      },
    },
    source: {
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        closed('file', { path: nonEmptyString }, ['path']),
        closed('stdin', {}),
        closed('generator', {
          zones: { type: 'integer', minimum: 1 },
          devicesPerZone: { type: 'integer', minimum: 1 },
          rate: { type: 'number', minimum: 0 },
          count: { type: 'integer', minimum: 0 },
          seed: { type: 'integer' },
          clock: { enum: ['wall', 'simulated'] },
          startTs: { type: 'integer', minimum: 0 },
          step: duration,
          spikeRate: { type: 'number', minimum: 0, maximum: 1 },
          heatWaveRate: { type: 'number', minimum: 0, maximum: 1 },
          badRate: { type: 'number', minimum: 0, maximum: 1 },
        }),
        closed(
          'kafka',
          {
            brokers,
            topic: nonEmptyString,
            groupId: nonEmptyString,
            clientId: nonEmptyString,
            fromBeginning: { type: 'boolean' },
            keyIsZoneId: { type: 'boolean' },
            partitions: { type: 'integer', minimum: 1 },
            commitInterval: positiveDuration,
          },
          ['topic', 'groupId'],
        ),
      ],
    },
    sink: sinkSchema,
    deadLetter: sinkSchema,
    state: {
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        closed('memory', {}),
        closed('redis', {
          url: nonEmptyString,
          prefix: nonEmptyString,
          snapshotInterval: positiveDuration,
        }),
      ],
    },
    window: {
      type: 'object',
      additionalProperties: false,
      properties: {
        size: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        pane: positiveDuration,
      },
    },
    mode,
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65_535 },
        host: nonEmptyString,
        dashboard: { type: 'boolean' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    guarantee: { enum: ['at-least-once', 'exactly-once'] },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          closed('threshold', { ...ruleBase, above: { type: 'number' }, below: { type: 'number' } }, ['id']),
          closed('zscore', { ...ruleBase, k: { type: 'number', exclusiveMinimum: 0 }, minSamples: { type: 'integer', minimum: 0 } }, ['id']),
          closed(
            'window_avg',
            {
              ...ruleBase,
              span: positiveDuration,
              abovePct: { type: 'number' },
              minSamples: { type: 'integer', minimum: 0 },
            },
            ['id'],
          ),
          closed(
            'rate_of_change',
            {
              ...ruleBase,
              lag: positiveDuration,
              pct: { type: 'number', minimum: 0 },
              direction: { enum: ['up', 'down', 'both'] },
            },
            ['id'],
          ),
        ],
      },
    },
  },
} as const;
