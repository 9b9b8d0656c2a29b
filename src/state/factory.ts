import type { KlaxonConfig } from '../config/types.js';
import { legacyLayout } from '../engine/legacy-image.js';
import { snapshotIdentity } from '../engine/zone-image.js';
import type { StateStore } from './types.js';

/**
 * The configured state store, or undefined when state lives and dies with the
 * process (`state.type: memory`, or a source without offsets to resume from).
 * The engine, `klaxon state reset` and `klaxon state inspect` all open it here.
 */
export async function openStateStore(config: KlaxonConfig): Promise<StateStore | undefined> {
  const { state, source } = config;
  if (state.type !== 'redis' || source.type !== 'kafka') return undefined;
  const { RedisStateStore } = await import('./redis-store.js');
  const target = 'cluster' in state ? { cluster: state.cluster } : { url: state.url };
  return RedisStateStore.connect(target, state.prefix, source.topic, snapshotIdentity(config.window), legacyLayout(config), config.connectTimeoutMs);
}
