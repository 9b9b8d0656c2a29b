import { hashString } from './hash.js';

/**
 * Consistent-hash ring with virtual nodes. Each of `shards` owners places
 * `virtualNodes` points on a 32-bit circle; a key belongs to the first point at
 * or after its hash. Adding shard N moves only the keys that now fall just
 * before its points: about 1/(N+1) of them, the rest stay where their state is.
 */
export class HashRing {
  readonly shards: number;
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;
  /** Per bucket (the hash's top 16 bits), its owner when no point falls inside it, else -1 (search the points). */
  private readonly bucketOwners: Int32Array;

  constructor(shards: number, virtualNodes = 128) {
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
    this.shards = shards;
    const placed: Array<[number, number]> = [];
    for (let shard = 0; shard < shards; shard++) {
      for (let v = 0; v < virtualNodes; v++) placed.push([hashString(`shard-${shard}#${v}`), shard]);
    }
    // Ties are broken by shard so every process builds the identical ring.
    placed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(placed, ([point]) => point);
    this.owners = Uint16Array.from(placed, ([, shard]) => shard);
    this.bucketOwners = bucketOwners(this.points, this.owners);
  }

  /** The shard owning a key with this 32-bit hash. */
  ownerOfHash(hash: number): number {
    const owner = this.bucketOwners[hash >>> BUCKET_SHIFT] as number;
    return owner >= 0 ? owner : this.searchOwner(hash);
  }

  /** The owner by binary search of the points (what each bucket's owner is, too). */
  searchOwner(hash: number): number {
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === points.length ? 0 : lo] as number;
  }

  ownerOf(key: string): number {
    return this.ownerOfHash(hashString(key));
  }
}

/** Buckets of 2^16 hashes each: 64k of them, 256 KB, against a ring of a few hundred points. */
const BUCKET_SHIFT = 16;

/**
 * The coordinator asks the ring for every record; a binary search over ~256
 * points took ~85 ns a record, most of it branches mispredicted (route-bench,
 * 4,000-record batches). A bucket no point falls in has one owner for all its
 * hashes, the owner of the first point at or after it, so one load answers;
 * the few buckets with a point inside (at most one per point) still search.
 */
function bucketOwners(points: Uint32Array, owners: Uint16Array): Int32Array {
  const buckets = new Int32Array(2 ** (32 - BUCKET_SHIFT));
  let next = 0;
  for (let bucket = 0; bucket < buckets.length; bucket++) {
    const first = bucket * 2 ** BUCKET_SHIFT;
    const last = first + 2 ** BUCKET_SHIFT - 1;
    while (next < points.length && (points[next] as number) < first) next++;
    if (next < points.length && (points[next] as number) <= last) buckets[bucket] = -1;
    else buckets[bucket] = owners[next === points.length ? 0 : next] as number;
  }
  return buckets;
}
