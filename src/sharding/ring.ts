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
  }

  /** The shard owning a key with this 32-bit hash. */
  ownerOfHash(hash: number): number {
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
