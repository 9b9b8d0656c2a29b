/** Bytes a slab aims for: large enough that a zone's places cost no allocation of their own, small enough that a size few zones use wastes little. */
const SLAB_BYTES = 256 << 10;
/** At least this many places per slab, whatever their size. */
const MIN_PLACES = 16;

/** One shared buffer of places, seen as every element type a place may hold. */
export class Slab {
  readonly u8: Uint8Array;
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly i16: Int16Array;
  readonly u16: Uint16Array;

  constructor(bytes: number) {
    const buffer = new ArrayBuffer(bytes);
    this.u8 = new Uint8Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i16 = new Int16Array(buffer);
    this.u16 = new Uint16Array(buffer);
  }
}

/**
 * Places of one size (a multiple of 8 bytes) in large shared slabs: a zone's
 * history or pane ring is a slab and an offset into it, not an ArrayBuffer of
 * its own. An ArrayBuffer per zone costs ~300 bytes of V8 objects (the
 * buffer and its views: 184 bytes on a heap snapshot) and allocator
 * bookkeeping around its data, and one allocation per zone made. Places are
 * given back by give() and reused; a slab whose places are all given back
 * is freed once another one is empty too (one empty slab is kept, so a zone
 * that comes and goes does not make and free a slab each time): memory goes
 * back when zones leave for good (partitions moved to another process,
 * zones evicted). One pool per size and thread (module state: a worker
 * thread has its own).
 */
export class SlabPool {
  /** Slabs by number (a place's number is its slab's × placesPerSlab + its index); a freed slab leaves a hole. */
  private readonly slabs: Array<Slab | undefined> = [];
  /** Per slab: the indexes of its free places, and how many are in use. */
  private readonly freeIn: number[][] = [];
  private readonly usedIn: number[] = [];
  /** Slabs that may have a free place (stale entries, for freed or full slabs, are dropped as they are met). */
  private readonly roomy: number[] = [];
  private readonly isRoomy: boolean[] = [];
  /** Numbers of freed slabs, reused first. */
  private readonly holes: number[] = [];
  /** The slab kept though empty, if any. */
  private empty: number | undefined;
  private inUse = 0;
  readonly placesPerSlab: number;

  constructor(readonly placeBytes: number) {
    if (placeBytes <= 0 || placeBytes % 8 !== 0) throw new RangeError(`a slab place is a positive multiple of 8 bytes, not ${placeBytes}`);
    this.placesPerSlab = Math.max(MIN_PLACES, Math.floor(SLAB_BYTES / placeBytes));
  }

  /** A zero-filled place's number. */
  take(): number {
    const slab = this.slabWithRoom();
    const index = (this.freeIn[slab] as number[]).pop() as number;
    const place = slab * this.placesPerSlab + index;
    if (this.usedIn[slab] === 0 && this.empty === slab) this.empty = undefined;
    this.usedIn[slab] = (this.usedIn[slab] as number) + 1;
    this.inUse++;
    const at = this.offsetOf(place) >> 3;
    this.slabOf(place).f64.fill(0, at, at + (this.placeBytes >> 3));
    return place;
  }

  /** Gives a place back; it must not be used after. */
  give(place: number): void {
    const slab = Math.floor(place / this.placesPerSlab);
    const free = this.freeIn[slab] as number[];
    free.push(place % this.placesPerSlab);
    if (!this.isRoomy[slab]) {
      this.isRoomy[slab] = true;
      this.roomy.push(slab);
    }
    this.inUse--;
    const used = (this.usedIn[slab] as number) - 1;
    this.usedIn[slab] = used;
    if (used > 0) return;
    // Empty: kept, and the one kept before it (if still empty) freed.
    if (this.empty !== undefined && this.empty !== slab) this.freeSlab(this.empty);
    this.empty = slab;
  }

  slabOf(place: number): Slab {
    return this.slabs[Math.floor(place / this.placesPerSlab)] as Slab;
  }

  /** The place's byte offset in its slab (a multiple of 8). */
  offsetOf(place: number): number {
    return (place % this.placesPerSlab) * this.placeBytes;
  }

  /** A place of its own as a typed array (a view of the slab: no ArrayBuffer of its own); give it back with giveView. */
  takeView<T extends Uint8Array | Float64Array>(make: (buffer: ArrayBuffer, byteOffset: number, length: number) => T, bytesPerElement: number): T {
    const place = this.take();
    return make(this.slabOf(place).u8.buffer as ArrayBuffer, this.offsetOf(place), this.placeBytes / bytesPerElement);
  }

  /** Gives back the place a view from takeView stands for; it must not be used after. */
  giveView(view: Uint8Array | Float64Array): void {
    const slab = this.slabs.findIndex((candidate) => candidate?.u8.buffer === view.buffer);
    if (slab < 0 || view.byteLength !== this.placeBytes) throw new RangeError('not a place of this pool');
    this.give(slab * this.placesPerSlab + view.byteOffset / this.placeBytes);
  }

  /** Places in use (for tests and metrics). */
  get used(): number {
    return this.inUse;
  }

  /** Slabs allocated (for tests and metrics). */
  get slabCount(): number {
    return this.slabs.length - this.holes.length;
  }

  /** A slab with a free place: one that has some, else a new one. */
  private slabWithRoom(): number {
    while (this.roomy.length > 0) {
      const slab = this.roomy[this.roomy.length - 1] as number;
      if (this.slabs[slab] !== undefined && (this.freeIn[slab] as number[]).length > 0) return slab;
      this.roomy.pop();
      this.isRoomy[slab] = false;
    }
    const slab = this.holes.pop() ?? this.slabs.length;
    this.slabs[slab] = new Slab(this.placesPerSlab * this.placeBytes);
    // Taken from the end: place 0 first.
    this.freeIn[slab] = Array.from({ length: this.placesPerSlab }, (_, i) => this.placesPerSlab - 1 - i);
    this.usedIn[slab] = 0;
    // `roomy` is empty here, every flag cleared as its entry was dropped.
    this.isRoomy[slab] = true;
    this.roomy.push(slab);
    return slab;
  }

  private freeSlab(slab: number): void {
    this.slabs[slab] = undefined;
    this.freeIn[slab] = [];
    this.holes.push(slab);
  }
}

const pools = new Map<number, SlabPool>();

/** This thread's pool of places of `bytes` bytes (rounded up to a multiple of 8). */
export function slabPool(bytes: number): SlabPool {
  const size = Math.ceil(bytes / 8) * 8;
  let pool = pools.get(size);
  if (pool === undefined) {
    pool = new SlabPool(size);
    pools.set(size, pool);
  }
  return pool;
}

/** Bytes of the places in use in this thread's pools (for tests). */
export function slabBytesInUse(): number {
  let bytes = 0;
  for (const pool of pools.values()) bytes += pool.used * pool.placeBytes;
  return bytes;
}

/** Bytes of this thread's slabs, in use or not (for tests and metrics). */
export function slabBytesAllocated(): number {
  let bytes = 0;
  for (const pool of pools.values()) bytes += pool.slabCount * pool.placesPerSlab * pool.placeBytes;
  return bytes;
}

/** Slabs of each of this thread's pools (for tests). */
export function slabCounts(): number[] {
  return [...pools.values()].map((pool) => pool.slabCount);
}
