import type { Cluster, Redis } from 'ioredis';
import { convertLegacyImage, LEGACY_FORMAT, type LegacyLayout } from '../engine/legacy-image.js';
import { StateError } from '../errors.js';
import type { SnapshotIdentity } from '../model/snapshot.js';
import { connectRedis, type RedisConnection, type RedisTarget } from './redis-connect.js';
import { SnapshotKeys } from './redis-keys.js';
import type { SaveOutcome, StateStore, StoredSnapshot, StoredWindow } from './types.js';

/**
 * Applies one chunk of zone updates (zone-image.ts UpdatePacker): a whole
 * update replaces the image with a zero-filled one of its length (and its id
 * joins the partition's set) before its ranges are written; other updates
 * SETRANGE their ranges over the stored image. Returns how many updates found
 * no image to apply to.
 * KEYS[1]: the partition's zone id set; ARGV[1]: the zone key prefix; ARGV[2]: the chunk.
 */
const APPLY_UPDATES = `
local chunk = ARGV[2]
local at, size, missing = 1, #chunk, 0
while at <= size do
  local idLength, whole, n, length
  idLength, at = struct.unpack('<I2', chunk, at)
  local zone = string.sub(chunk, at, at + idLength - 1)
  whole, n, length, at = struct.unpack('<BI2I4', chunk, at + idLength)
  local key = ARGV[1] .. zone
  local found = true
  if whole == 1 then
    redis.call('SADD', KEYS[1], zone)
    redis.call('DEL', key)
    redis.call('SETRANGE', key, length - 1, '\\0')
  else
    found = redis.call('EXISTS', key) == 1
    if not found then missing = missing + 1 end
  end
  for _ = 1, n do
    local offset, bytes
    offset, length, at = struct.unpack('<I4I4', chunk, at)
    if found then redis.call('SETRANGE', key, offset, string.sub(chunk, at, at + length - 1)) end
    at = at + length
  end
end
return missing
`;

/** Deletes every zone of a partition. KEYS[1]: the zone id set; ARGV[1]: the zone key prefix. */
const CLEAR_ZONES = `
local ids = redis.call('SMEMBERS', KEYS[1])
for _, zone in ipairs(ids) do redis.call('UNLINK', ARGV[1] .. zone) end
redis.call('DEL', KEYS[1])
return #ids
`;

interface ScriptCommands {
  applyUpdates(idsKey: string, zonePrefix: string, chunk: Buffer): Promise<number>;
  clearZones(idsKey: string, zonePrefix: string): Promise<number>;
}

/**
 * Snapshots in Redis or a Redis Cluster, per source partition (keys: redis-keys.ts):
 * `:meta` (hash: offset, format, the window's fingerprint and the window itself), `:ids` (set of zone ids)
 * and `:zone:{zoneId}` (a string: the zone's image, engine/zone-image.ts). Images are
 * strings so that a snapshot updates them in place with SETRANGE: a
 * reading changes tens of bytes of a 10 KB image. A save is WATCH meta →
 * MULTI (update scripts, then meta) → EXEC: all of it or none, and it refuses
 * to build on a snapshot it did not expect. On a Cluster a partition's keys
 * share one slot, so all of this runs on the one node serving it.
 */
export class RedisStateStore implements StateStore {
  private constructor(
    private readonly connection: RedisConnection,
    private readonly keys: SnapshotKeys,
    private readonly identity: SnapshotIdentity,
    private readonly legacy: LegacyLayout | undefined,
  ) {}

  /**
   * Connects to one Redis (`{url}`) or a Redis Cluster (`{cluster}`) and checks that it
   * answers, waiting at most `timeoutMs` (the config's connectTimeout); see connectRedis.
   * `legacy`: what a snapshot made before live rules (format 2) must be to be converted
   * as it loads (absent: refused).
   */
  static async connect(
    target: RedisTarget,
    prefix: string,
    topic: string,
    identity: SnapshotIdentity,
    legacy?: LegacyLayout,
    timeoutMs = 10_000,
  ): Promise<RedisStateStore> {
    const connection = await connectRedis(target, timeoutMs);
    return new RedisStateStore(connection, new SnapshotKeys(`${prefix}:${topic}`, connection.cluster), identity, legacy);
  }

  private get redis(): Redis | Cluster {
    return this.connection.client;
  }

  async snapshotOf(partition: number): Promise<StoredSnapshot | null> {
    const meta = await this.redis.hgetall(this.keys.meta(partition));
    if (meta.offset === undefined) return null;
    return { offset: Number(meta.offset), converted: this.checkMeta(partition, meta) !== undefined };
  }

  zoneIdsOf(partition: number): Promise<string[]> {
    return this.redis.smembers(this.keys.ids(partition));
  }

  async fetch(partition: number, zoneIds: readonly string[], snapshot: StoredSnapshot): Promise<Array<Uint8Array | null>> {
    if (zoneIds.length === 0) return [];
    const images = await this.redis.mgetBuffer(...zoneIds.map((zoneId) => this.keys.zone(partition, zoneId)));
    const legacy = snapshot.converted ? this.legacy : undefined;
    return zoneIds.map((zoneId, k) => {
      const image = images[k] ?? null;
      return image === null || legacy === undefined ? image : convertLegacyImage(zoneId, image, legacy);
    });
  }

  async offsetOf(partition: number): Promise<number | null> {
    const offset = await this.redis.hget(this.keys.meta(partition), 'offset');
    return offset === null ? null : Number(offset);
  }

  async save(partition: number, chunks: readonly Uint8Array[], offset: number, previous: number | null, full: boolean): Promise<SaveOutcome> {
    const metaKey = this.keys.meta(partition);
    const idsKey = this.keys.ids(partition);
    const zonePrefix = this.keys.zonePrefix(partition);
    // WATCH needs its own connection so that no other command slips into this transaction.
    const connection = this.connection.dedicated(metaKey);
    connection.on('error', () => {});
    connection.defineCommand('applyUpdates', { numberOfKeys: 1, lua: APPLY_UPDATES });
    connection.defineCommand('clearZones', { numberOfKeys: 1, lua: CLEAR_ZONES });
    try {
      await connection.watch(metaKey);
      const stored = await connection.hget(metaKey, 'offset');
      if (!full && (stored === null ? null : Number(stored)) !== previous) {
        await connection.unwatch();
        return 'resync';
      }
      const transaction = connection.multi() as unknown as ReturnType<Redis['multi']> & ScriptCommands;
      if (full) transaction.clearZones(idsKey, zonePrefix);
      for (const chunk of chunks) transaction.applyUpdates(idsKey, zonePrefix, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      const { format, fingerprint, window } = this.identity;
      transaction.hdel(metaKey, 'rules');
      transaction.hset(
        metaKey,
        'offset',
        String(offset),
        'format',
        String(format),
        'window',
        fingerprint,
        'windowSpec',
        JSON.stringify(window),
        'savedAt',
        new Date().toISOString(),
      );
      const results = await transaction.exec();
      // null: someone wrote meta between WATCH and EXEC.
      if (results === null) return 'resync';
      for (const [error] of results) if (error) throw error;
      const missing = results.slice(full ? 1 : 0, -2).reduce((sum, [, found]) => sum + Number(found), 0);
      return missing > 0 ? 'resync' : 'saved';
    } finally {
      connection.disconnect();
    }
  }

  async reset(): Promise<number> {
    let removed = 0;
    for (const node of this.connection.masters()) {
      for await (const keys of scanKeys(node, this.keys.everyKey())) {
        removed += keys.filter((key) => this.keys.partitionOfMeta(key) !== undefined).length;
        // One key a command: on a Cluster node, a DEL of keys in several slots is refused (CROSSSLOT).
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      }
    }
    return removed;
  }

  async partitions(): Promise<number[]> {
    const found: number[] = [];
    for (const node of this.connection.masters()) {
      for await (const keys of scanKeys(node, this.keys.everyMeta())) {
        for (const key of keys) {
          const partition = this.keys.partitionOfMeta(key);
          if (partition !== undefined) found.push(partition);
        }
      }
    }
    return found.sort((a, b) => a - b);
  }

  async storedWindow(): Promise<StoredWindow | null> {
    for (const partition of await this.partitions()) {
      const spec = await this.redis.hget(this.keys.meta(partition), 'windowSpec');
      if (spec !== null) return JSON.parse(spec) as StoredWindow;
    }
    return null;
  }

  async zoneIds(): Promise<string[]> {
    const ids = new Set<string>();
    for (const partition of await this.partitions()) for (const id of await this.redis.smembers(this.keys.ids(partition))) ids.add(id);
    return [...ids];
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Refuses a snapshot this engine cannot read; returns the layout to convert it with when it was made before live rules. */
  private checkMeta(partition: number, meta: Record<string, string>): LegacyLayout | undefined {
    const where = `the snapshot of partition ${partition} (${this.keys.meta(partition)})`;
    const { format, fingerprint, window } = this.identity;
    const reset = '`klaxon state reset --config FILE` deletes the snapshots; the next start rebuilds state by replaying the topic';
    if (Number(meta.format) === LEGACY_FORMAT) {
      const before = `${where} was made by a Klaxon before live rules (snapshot format ${LEGACY_FORMAT}; this engine reads format ${format})`;
      if (this.legacy === undefined || meta.rules === undefined || !this.legacy.fingerprints.has(meta.rules)) {
        throw new StateError(
          `${before} under a window or rules other than this config's window and version 1: to convert it, start once with the window and the rules it was made under as version 1; or ${reset}`,
        );
      }
      if (this.legacy.ringPanes !== window.retain) {
        throw new StateError(
          `${before} with a pane ring of ${this.legacy.ringPanes} panes, and this config's window.retain is ${window.retain}: set window.retain to ${this.legacy.ringPanes} to convert it; or ${reset}`,
        );
      }
      return this.legacy;
    }
    if (Number(meta.format) !== format) {
      throw new StateError(`${where} has format ${meta.format}, this engine reads format ${format}: ${reset}`);
    }
    if (meta.window !== fingerprint) {
      const stored = meta.windowSpec === undefined ? 'another window' : `window ${describeWindow(JSON.parse(meta.windowSpec) as StoredWindow)}`;
      throw new StateError(
        `${where} was made with ${stored}, this config has window ${describeWindow(window)}: the window is fixed for the state's life (rules are not). Restore the window, or: ${reset}`,
      );
    }
    return undefined;
  }
}

/** SCAN of one node, a batch of keys at a time. */
async function* scanKeys(node: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** "size 500, pane 1000 ms, retain 301 panes" */
function describeWindow(window: StoredWindow): string {
  return `size ${window.size}, pane ${window.paneMs} ms, retain ${window.retain} panes`;
}
