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
 * bookkeeping around its data, and one allocation per zone made. Places are given back by give() and
 * reused; slabs are kept. One pool per size and thread (module state: a
 * worker thread has its own).
 */
export class SlabPool {
  private readonly slabs: Slab[] = [];
  private readonly free: number[] = [];
  readonly placesPerSlab: number;

  constructor(readonly placeBytes: number) {
    if (placeBytes <= 0 || placeBytes % 8 !== 0) throw new RangeError(`a slab place is a positive multiple of 8 bytes, not ${placeBytes}`);
    this.placesPerSlab = Math.max(MIN_PLACES, Math.floor(SLAB_BYTES / placeBytes));
  }

  /** A zero-filled place's number. */
  take(): number {
    const place = this.free.pop();
    if (place !== undefined) {
      const at = this.offsetOf(place) >> 3;
      this.slabOf(place).f64.fill(0, at, at + (this.placeBytes >> 3));
      return place;
    }
    const first = this.slabs.length * this.placesPerSlab;
    this.slabs.push(new Slab(this.placesPerSlab * this.placeBytes));
    for (let next = first + this.placesPerSlab - 1; next > first; next--) this.free.push(next);
    return first;
  }

  /** Gives a place back; it must not be used after. */
  give(place: number): void {
    this.free.push(place);
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
    const slab = this.slabs.findIndex((candidate) => candidate.u8.buffer === view.buffer);
    if (slab < 0 || view.byteLength !== this.placeBytes) throw new RangeError('not a place of this pool');
    this.give(slab * this.placesPerSlab + view.byteOffset / this.placeBytes);
  }

  /** Places in use (for tests and metrics). */
  get used(): number {
    return this.slabs.length * this.placesPerSlab - this.free.length;
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
