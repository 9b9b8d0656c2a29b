import { Ajv, type ErrorObject } from 'ajv';
import { configSchema } from './schema.js';

const ajv = new Ajv({ allErrors: true, discriminator: true, strict: true, strictRequired: false });
const validateSchema = ajv.compile(configSchema);

/** Checks a parsed config against the JSON Schema; returns one line per problem, each naming its JSON path. */
export function schemaIssues(config: unknown): string[] {
  if (validateSchema(config)) return [];
  const issues = (validateSchema.errors ?? []).map(describe);
  return [...new Set(issues)];
}

function describe(error: ErrorObject): string {
  const path = error.instancePath || '/';
  // A duration fails each of its forms at once; one sentence says it better.
  if (error.schemaPath.startsWith('#/definitions/')) {
    return `${path}: must be a duration: whole milliseconds${
      error.schemaPath.includes('positive') ? ' (at least 1)' : ''
    }, or a string such as "500ms", "10s", "5m", "1h"`;
  }
  switch (error.keyword) {
    case 'additionalProperties':
      return `${join(path, error.params.additionalProperty)}: unknown key`;
    case 'required':
      return `${join(path, error.params.missingProperty)}: required`;
    case 'discriminator':
      return `${join(path, error.params.tag)}: ${
        error.params.error === 'mapping' ? 'unknown type' : 'must be a string naming the type'
      } (expected one of ${knownTypes(path)})`;
    case 'enum':
      return `${path}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${path}: ${error.message ?? 'is invalid'}`;
  }
}

function join(path: string, key: string): string {
  return path === '/' ? `/${key}` : `${path}/${key}`;
}

function knownTypes(path: string): string {
  const section = path.startsWith('/rules') ? 'rules' : path.slice(1);
  const types: Record<string, string> = {
    rules: 'threshold, zscore, window_avg, rate_of_change',
    source: 'file, stdin, generator, kafka',
    sink: 'file, stdout, kafka',
    deadLetter: 'file, stdout, kafka',
    state: 'memory, redis',
  };
  return types[section] ?? 'see the schema';
}
