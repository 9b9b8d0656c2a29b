/**
 * Where each source partition's snapshot lives in Redis: `:meta` (hash: offset, format, window),
 * `:ids` (set of zone ids) and `:zone:{zoneId}` (the zone's image), under a head naming the
 * prefix, topic and partition.
 *
 * One Redis: `prefix:topic:partition:meta`, the layout snapshots have always had (so they still load).
 * A Redis Cluster: the head is a hash tag, `{prefix:topic:partition}:meta`, so that every key of a
 * partition hashes to one slot: a save's WATCH … EXEC and its scripts then run on one node, and a
 * batch of zones is one MGET. The prefix holds no brace there (the config refuses one): a brace
 * would end the tag early.
 */
export class SnapshotKeys {
  /** `base`: `prefix:topic`. `tagged`: the Redis Cluster layout. */
  constructor(
    private readonly base: string,
    readonly tagged: boolean,
  ) {}

  meta(partition: number): string {
    return `${this.head(partition)}:meta`;
  }

  ids(partition: number): string {
    return `${this.head(partition)}:ids`;
  }

  zone(partition: number, zoneId: string): string {
    return `${this.zonePrefix(partition)}${zoneId}`;
  }

  /** What a zone key is before its id (the update scripts build zone keys from it). */
  zonePrefix(partition: number): string {
    return `${this.head(partition)}:zone:`;
  }

  /** A SCAN pattern matching every key of this prefix and topic, and no other's. */
  everyKey(): string {
    return `${this.tagged ? '{' : ''}${globEscape(this.base)}:*`;
  }

  /** A SCAN pattern matching every partition's meta key (and maybe zone keys that look like one: see partitionOfMeta). */
  everyMeta(): string {
    return this.tagged ? `{${globEscape(this.base)}:*}:meta` : `${globEscape(this.base)}:*:meta`;
  }

  /** The partition whose meta key this is; undefined for any other key (a zone id may end in ":meta" too). */
  partitionOfMeta(key: string): number | undefined {
    const start = `${this.tagged ? '{' : ''}${this.base}:`;
    const end = this.tagged ? '}:meta' : ':meta';
    if (!key.startsWith(start) || !key.endsWith(end) || key.length <= start.length + end.length) return undefined;
    const partition = key.slice(start.length, -end.length);
    return /^\d+$/.test(partition) ? Number(partition) : undefined;
  }

  private head(partition: number): string {
    return this.tagged ? `{${this.base}:${partition}}` : `${this.base}:${partition}`;
  }
}

/** A literal for Redis's glob patterns (a prefix with `*`, `?` or `[` would otherwise match other prefixes' keys). */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
