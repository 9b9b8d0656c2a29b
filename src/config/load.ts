import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { expandEnv } from './env.js';
import { configSchema } from './schema.js';
import type { KlaxonConfig, SinkConfig, SourceConfig } from './types.js';
import { validate } from './validate.js';

/** Reads, validates and normalises a config file. Throws ConfigError naming every bad field. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): KlaxonConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read the config file (${error instanceof Error && 'code' in error ? error.code : error})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON (${error instanceof Error ? error.message : error})`]);
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
  const result = validate(configSchema, expanded);
  if (missing.length > 0 || !result.ok) throw new ConfigError([...missing, ...(result.ok ? [] : result.issues)]);
  const config = result.value;
  const at = (path: string) => resolve(options.baseDir, path);
  const source: SourceConfig = config.source.type === 'file' ? { ...config.source, path: at(config.source.path) } : config.source;
  const sink = (part: SinkConfig): SinkConfig => (part.type === 'file' ? { ...part, path: at(part.path) } : part);
  return {
    ...config,
    source,
    sink: sink(config.sink),
    deadLetter: sink(config.deadLetter),
    ...(options.file === undefined ? {} : { file: options.file }),
  };
}
