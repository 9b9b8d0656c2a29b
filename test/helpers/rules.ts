import { parseConfig } from '../../src/config/load.js';
import type { RulesConfig } from '../../src/config/types.js';

/**
 * The rules part of a config as the workers get it (window and versions,
 * parsed and normalised), from what a person would write: `window`, `mode`,
 * and `rules` or `versions`.
 */
export function rulesConfig(raw: Record<string, unknown>): RulesConfig {
  const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...raw }, { baseDir: '/' });
  return { window: config.window, versions: config.versions };
}

/** A worker's setup for one shard of `shards`, with these rules. */
export function shardSetup(rules: RulesConfig, shards = 1, shard = 0) {
  return { shard, shards, virtualNodes: 8, rules };
}
