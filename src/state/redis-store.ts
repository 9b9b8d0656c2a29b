import { Redis } from 'ioredis';
import { StateError } from '../errors.js';
import { SNAPSHOT_FORMAT } from './codec.js';
import type { PartitionSnapshot, SaveOutcome, StateStore } from './types.js';

const ZONES_PER_COMMAND = 500;

/**
 * Snapshots in Redis, one pair of hashes per source partition:
 * `{prefix}:{topic}:{partition}:zones` (zone_id → encoded state, binary) and
 * `{prefix}:{topic}:{partition}:meta` (offset, format, rules fingerprint).
 * A save is WATCH meta → MULTI (zones, then meta) → EXEC: all of it or none,
 * and it refuses to build on a snapshot it did not expect.
 */
export class RedisStateStore implements StateStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly fingerprint: string,
  ) {}

  static async connect(url: string, prefix: string, topic: string, fingerprint: string): Promise<RedisStateStore> {
    const redis = new Redis(url, {
      lazyConnect: true,
      // Keep retrying through a Redis restart; a save waits rather than fails.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(2_000, 50 * 2 ** attempt),
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new StateError(`cannot reach Redis at ${url}`, { cause: error, retriable: true });
    }
    return new RedisStateStore(redis, `${prefix}:${topic}`, fingerprint);
  }

  async load(partition: number): Promise<PartitionSnapshot | null> {
    const meta = await this.redis.hgetall(this.metaKey(partition));
    if (meta.offset === undefined) return null;
    const where = `the snapshot of partition ${partition} (${this.metaKey(partition)})`;
    if (Number(meta.format) !== SNAPSHOT_FORMAT) {
      throw new StateError(`${where} has format ${meta.format}, this engine reads format ${SNAPSHOT_FORMAT}: run \`klaxon state reset\` to rebuild state from the topic`);
    }
    if (meta.rules !== this.fingerprint) {
      throw new StateError(`${where} was made under other rules or another window: run \`klaxon state reset\` to rebuild state from the topic, or restore the old rules`);
    }
    const zones = await this.redis.hgetallBuffer(this.zonesKey(partition));
    return { offset: meta.offset, zones: Object.values(zones) };
  }

  async offsetOf(partition: number): Promise<string | null> {
    return this.redis.hget(this.metaKey(partition), 'offset');
  }

  async save(partition: number, zones: ReadonlyMap<string, Uint8Array>, offset: string, previous: string | null, full: boolean): Promise<SaveOutcome> {
    const metaKey = this.metaKey(partition);
    const zonesKey = this.zonesKey(partition);
    // WATCH needs its own connection so that no other command slips into this transaction.
    const connection = this.redis.duplicate({ lazyConnect: false });
    connection.on('error', () => {});
    try {
      await connection.watch(metaKey);
      const stored = await connection.hget(metaKey, 'offset');
      if (!full && stored !== previous) {
        await connection.unwatch();
        return 'resync';
      }
      const transaction = connection.multi();
      if (full) transaction.del(zonesKey);
      let pairs: Array<string | Buffer> = [];
      for (const [zoneId, bytes] of zones) {
        pairs.push(zoneId, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        if (pairs.length >= 2 * ZONES_PER_COMMAND) {
          transaction.hset(zonesKey, ...pairs);
          pairs = [];
        }
      }
      if (pairs.length > 0) transaction.hset(zonesKey, ...pairs);
      transaction.hset(metaKey, 'offset', offset, 'format', String(SNAPSHOT_FORMAT), 'rules', this.fingerprint, 'savedAt', new Date().toISOString());
      const result = await transaction.exec();
      // null: someone wrote meta between WATCH and EXEC.
      return result === null ? 'resync' : 'saved';
    } finally {
      connection.disconnect();
    }
  }

  async reset(): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        removed += keys.filter((k) => k.endsWith(':meta')).length;
        await this.redis.del(...keys);
      }
    } while (cursor !== '0');
    return removed;
  }

  /** Partitions that have a snapshot, for operators. */
  async partitions(): Promise<number[]> {
    const found: number[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*:meta`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) found.push(Number(key.slice(this.prefix.length + 1, -':meta'.length)));
    } while (cursor !== '0');
    return found.sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private metaKey(partition: number): string {
    return `${this.prefix}:${partition}:meta`;
  }

  private zonesKey(partition: number): string {
    return `${this.prefix}:${partition}:zones`;
  }
}
