import type { KlaxonConfig, RulesConfig } from '../config/types.js';
import { planWindow } from '../engine/plan.js';
import { RuleBook } from '../engine/rule-book.js';
import { zoneFromImage } from '../engine/zone-image.js';
import { summarizeZone } from '../engine/zone-summary.js';
import { UsageError } from '../errors.js';
import type { ZoneHistory } from '../protocol/messages.js';
import { openStateStore } from '../state/factory.js';
import type { StateStore } from '../state/types.js';

export interface StoredZone {
  partition: number;
  /** The source offset the partition's snapshot resumes from. */
  offset: number;
  zone: ZoneHistory;
}

/** The part of a state store that inspecting needs. */
export type SnapshotReader = Pick<StateStore, 'partitions' | 'snapshotOf' | 'fetch'>;

/**
 * A zone's state as the last snapshot in Redis holds it (what a restarted
 * engine would resume with), read-only. Undefined when no partition has it.
 */
export async function inspectStoredZone(config: KlaxonConfig, zoneId: string): Promise<StoredZone | undefined> {
  const { state, source } = config;
  if (state.type !== 'redis' || source.type !== 'kafka') {
    throw new UsageError('state inspect reads the Redis snapshots: the config needs "state": {"type": "redis"} and a kafka source');
  }
  const store = await openStateStore(config);
  if (store === undefined) return undefined;
  try {
    return await findStoredZone(store, config, zoneId);
  } finally {
    await store.close();
  }
}

/**
 * Looks for the zone in every partition's snapshot. If it was snapshotted
 * under several partitions (its records changed partition), the one with the
 * highest seq is the current one. Only that zone's image is read.
 */
export async function findStoredZone(store: SnapshotReader, rules: RulesConfig, zoneId: string): Promise<StoredZone | undefined> {
  const window = planWindow(rules.window);
  const book = new RuleBook(rules.versions, rules.window.paneMs);
  let found: StoredZone | undefined;
  for (const partition of await store.partitions()) {
    const snapshot = await store.snapshotOf(partition);
    const image = snapshot === null ? null : ((await store.fetch(partition, [zoneId], snapshot))[0] ?? null);
    if (snapshot === null || image === null) continue;
    const zone = summarizeZone(zoneId, zoneFromImage(zoneId, image, window, book), book, rules.window.size);
    if (found === undefined || zone.seq > found.zone.seq) found = { partition, offset: snapshot.offset, zone };
  }
  return found;
}

/** The operator's view: statistics first, then the latest `values` readings. */
export function formatStoredZone({ partition, offset, zone }: StoredZone, values: number): string {
  const number = (x: number | null) => (x === null ? '-' : String(Math.round(x * 1e6) / 1e6));
  const latest = Array.from(zone.values.subarray(Math.max(0, zone.values.length - values)), (x) => String(x));
  return [
    `zone ${zone.zoneId} (partition ${partition}, snapshot resumes at offset ${offset})`,
    `  seq      ${zone.seq}`,
    `  count    ${zone.count}`,
    `  mean     ${number(zone.mean)}`,
    `  std      ${number(zone.std)}`,
    `  firing   ${zone.firing.length > 0 ? zone.firing.join(', ') : 'none'}`,
    ...(zone.shadowFiring.length > 0 ? [`  shadow   ${zone.shadowFiring.join(', ')} (firing, shadow rules)`] : []),
    `  latest   ${latest.join(' ')}${latest.length > 0 ? ' (oldest first)' : ''}`,
    '',
  ].join('\n');
}
