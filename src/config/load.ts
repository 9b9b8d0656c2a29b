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
  const problems: string[] = [];
  const expanded = expandEnv(raw, options.env ?? process.env, problems);
  const rulesFile = isRecord(expanded) && typeof expanded.rulesFile === 'string' ? resolve(options.baseDir, expanded.rulesFile) : undefined;
  const result = validate(configSchema, rulesFile === undefined ? expanded : withRulesFile(expanded as Record<string, unknown>, rulesFile, problems));
  // Problems of the rule set read from rulesFile are named in that file.
  const issues = result.ok
    ? []
    : result.issues.map((issue) => (rulesFile === undefined ? issue : issue.replace(/^(\/(rules|versions)\b)/, `${rulesFile}: $1`)));
  if (problems.length > 0 || !result.ok) throw new ConfigError([...problems, ...issues]);
  const config = result.value;
  const at = (path: string) => resolve(options.baseDir, path);
  const source: SourceConfig = config.source.type === 'file' ? { ...config.source, path: at(config.source.path) } : config.source;
  const sink = (part: SinkConfig): SinkConfig => (part.type === 'file' ? { ...part, path: at(part.path) } : part);
  return {
    ...config,
    source,
    sink: sink(config.sink),
    deadLetter: sink(config.deadLetter),
    ...(config.shadowSink === undefined ? {} : { shadowSink: sink(config.shadowSink) }),
    ...(rulesFile === undefined ? {} : { rulesFile }),
    ...(options.file === undefined ? {} : { file: options.file }),
  };
}

/** A rules file's content: `{"versions": [...]}` or `{"rules": [...]}` (the rule set part of a config). */
export function readRulesFile(path: string): { rules?: unknown; versions?: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${path}: cannot read the rules file (${error instanceof Error && 'code' in error ? error.code : error})`]);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${path}: not valid JSON (${error instanceof Error ? error.message : error})`]);
  }
  if (!isRecord(content)) throw new ConfigError([`${path}: must hold {"versions": [...]} or {"rules": [...]}`]);
  const { rules, versions, ...others } = content;
  const unknown = Object.keys(others);
  if (unknown.length > 0) throw new ConfigError(unknown.map((key) => `${path}: /${key}: unknown key (a rules file holds "versions" or "rules")`));
  return { ...(rules === undefined ? {} : { rules }), ...(versions === undefined ? {} : { versions }) };
}

/** The config with the rule set of its rulesFile in place of its own (which it must not have). */
function withRulesFile(raw: Record<string, unknown>, path: string, problems: string[]): Record<string, unknown> {
  if (raw.rules !== undefined || raw.versions !== undefined) {
    problems.push('/rulesFile: give the rule set in the config (rules or versions) or in rulesFile, not both');
    return raw;
  }
  try {
    return { ...raw, ...readRulesFile(path) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.issues);
    return raw;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
