// biome-ignore-all lint/suspicious/noTemplateCurlyInString: cluster.config.json holds ${VAR} placeholders on purpose.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { configJsonSchema } from '../../../src/config/json-schema.js';
import { parseConfig } from '../../../src/config/load.js';

const ROOT = join(import.meta.dirname, '../../../..');
const published = JSON.parse(readFileSync(join(ROOT, 'schema/cluster.config.schema.json'), 'utf8'));
const clusterConfig = JSON.parse(readFileSync(join(ROOT, 'cluster.config.json'), 'utf8'));
// URLs (`format: "uri"`) are checked by the engine's own validation; editors know the format, ajv needs it named.
const validatePublished = new Ajv({ allErrors: true, formats: { uri: true } }).compile(published);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The node of the published schema at `path`: object keys by name, `[]` for array items, union members by their `type`. */
function at(...path: string[]): Record<string, unknown> {
  const schema = configJsonSchema();
  const definitions = isObject(schema.definitions) ? schema.definitions : {};
  let node: unknown = schema;
  for (const step of path) {
    // Shared parts (the rule) are referenced: #/definitions/NAME.
    if (isObject(node) && typeof node.$ref === 'string') node = definitions[node.$ref.replace('#/definitions/', '')];
    if (!isObject(node)) break;
    if (step === '[]') node = node.items;
    else if (Array.isArray(node.oneOf))
      node = node.oneOf.find(
        (option) => isObject(option) && isObject(option.properties) && isObject(option.properties.type) && option.properties.type.const === step,
      );
    else node = isObject(node.properties) ? node.properties[step] : undefined;
  }
  if (isObject(node) && typeof node.$ref === 'string') node = definitions[node.$ref.replace('#/definitions/', '')];
  if (!isObject(node)) assert.fail(`no schema at ${path.join('.')}`);
  return node;
}

describe('published JSON Schema', () => {
  test('schema/ holds what `klaxon schema` prints (run `npm run schema` after changing the config schema)', () => {
    assert.deepEqual(published, configJsonSchema());
  });

  test('keeps its identity and is draft-07', () => {
    const schema = configJsonSchema();
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.$id, 'https://klaxon.dev/schema/cluster.config.json');
    assert.equal(schema.title, 'Klaxon cluster config');
    // `sink` or `sinks`, `rules` or `versions`: one of each, which the engine checks (the schema lists them as optional).
    assert.deepEqual(schema.required, ['source']);
    assert.equal(schema.additionalProperties, false);
  });

  test('shows the defaults, durations as they are written', () => {
    assert.equal(at('engine', 'batchSize').default, 4_000);
    assert.equal(at('engine', 'virtualNodes').default, 128);
    assert.equal(at('window', 'size').default, 500);
    assert.equal(at('window', 'pane').default, '1s');
    assert.equal(at('mode').default, 'edge');
    assert.equal(at('guarantee').default, 'at-least-once');
    assert.deepEqual(at('deadLetter').default, { type: 'file', path: 'dead-letters.ndjson' });
    assert.deepEqual(at('state').default, { type: 'memory' });
    assert.deepEqual(at('source', 'kafka', 'brokers').default, ['127.0.0.1:9092']);
    assert.equal(at('source', 'kafka', 'commitInterval').default, '1s');
    assert.equal(at('sink', 'kafka', 'linger').default, '0ms');
    assert.equal(at('state', 'redis', 'snapshotInterval').default, '5s');
    assert.equal(at('rules', '[]', 'zscore', 'k').default, 3);
    assert.equal(at('rules', '[]', 'window_avg', 'span').default, '5m');
    assert.equal(at('rules', '[]', 'rate_of_change', 'direction').default, 'up');
    assert.equal(at('rules', '[]', 'threshold', 'severity').default, 'warning');
    assert.equal(at('versions', '[]', 'rules', '[]', 'zscore', 'shadow').default, false);
    assert.equal(at('http', 'port').default, 9464);
    assert.equal(at('log', 'level').default, 'info');
  });

  test('defaults that depend on the machine are described, not written in', () => {
    for (const key of ['workers', 'instanceId']) {
      assert.equal(at('engine', key).default, undefined, key);
      assert.match(String(at('engine', key).description), /Default:/, key);
    }
  });

  test('cluster.config.json validates against it (ajv) and parses (zod)', () => {
    assert.ok(validatePublished(clusterConfig), JSON.stringify(validatePublished.errors));
    const config = parseConfig(clusterConfig, { baseDir: ROOT, env: {} });
    assert.equal(config.source.type, 'kafka');
    assert.equal(config.versions[0]?.rules.length, 4);
  });

  test('rejects what the loader rejects for its shape', () => {
    const bad = [
      { ...clusterConfig, engine: { wrokers: 2 } },
      { ...clusterConfig, window: { pane: '1 minute' } },
      { ...clusterConfig, source: { type: 'ftp' } },
      { ...clusterConfig, rules: [] },
      { ...clusterConfig, sink: { type: 'kafka' } },
    ];
    for (const raw of bad) {
      assert.equal(validatePublished(raw), false, JSON.stringify(raw));
      assert.throws(() => parseConfig(raw, { baseDir: ROOT, env: {} }));
    }
  });
});
