import { createRequire } from 'node:module';

/** Resolves and loads kafkajs's internal modules (kafkajs 2.2.4, pinned: these are not its API). */
export const requireKafkajs = createRequire(import.meta.url);

/**
 * Puts `replacement` in the place of kafkajs's module at `modulePath` (which
 * must be loaded already, so its original stays reachable), for the kafkajs
 * module at `boundBy` that binds it when it loads. False, and nothing
 * changed, if `boundBy` has loaded already: it holds the original for good.
 */
export function replaceKafkajsModule(modulePath: string, boundBy: string, replacement: unknown): boolean {
  const cached = requireKafkajs.cache[modulePath];
  if (requireKafkajs.cache[boundBy] !== undefined || cached === undefined) return false;
  cached.exports = replacement;
  return true;
}
