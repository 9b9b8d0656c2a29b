import type { PackedRecords, SourceBatch } from './types.js';

export type { PackedRecords };

/**
 * Two spans at most this far apart in one buffer are copied as one run, gap
 * included (between a Kafka record's key and value, or one record's value
 * and the next one's key, lie a few bytes of framing): one copy per fetched
 * record batch instead of two per record.
 */
const MAX_GAP = 64;

/** Where each record's bytes lie now; pack() copies them. */
export class RecordPacker {
  private readonly valueStarts: Uint32Array;
  private readonly valueEnds: Uint32Array;
  private readonly keyStarts: Int32Array;
  private readonly keyEnds: Uint32Array;
  private readonly runSources: ArrayBufferLike[] = [];
  /** Per run: from, to (in its source's ArrayBuffer) and where it lands. */
  private readonly runSpans: number[] = [];
  private size = 0;
  private added = 0;

  constructor(private readonly count: number) {
    this.valueStarts = new Uint32Array(count);
    this.valueEnds = new Uint32Array(count);
    this.keyStarts = new Int32Array(count);
    this.keyEnds = new Uint32Array(count);
  }

  /**
   * The next record: its value `source[valueStart, valueEnd)` and its key
   * `keySource[keyStart, keyEnd)` (keySource null: no key). Add a record's
   * key first where it comes first in the source, so the two join one run.
   */
  add(source: Uint8Array, valueStart: number, valueEnd: number, keySource: Uint8Array | null, keyStart: number, keyEnd: number): void {
    const i = this.added++;
    if (keySource === null) this.keyStarts[i] = -1;
    else {
      const at = this.place(keySource, keyStart, keyEnd);
      this.keyStarts[i] = at;
      this.keyEnds[i] = at + keyEnd - keyStart;
    }
    const at = this.place(source, valueStart, valueEnd);
    this.valueStarts[i] = at;
    this.valueEnds[i] = at + valueEnd - valueStart;
  }

  /** Adds a record given as Buffers. */
  addBuffers(value: Uint8Array, key: Uint8Array | null): void {
    this.add(value, 0, value.length, key, 0, key?.length ?? 0);
  }

  pack(): PackedRecords {
    if (this.added !== this.count) throw new Error(`packing ${this.added} records of ${this.count}`);
    const bytes = new Uint8Array(new SharedArrayBuffer(this.size));
    const spans = this.runSpans;
    this.runSources.forEach((source, run) => {
      const from = spans[run * 3] as number;
      bytes.set(new Uint8Array(source, from, (spans[run * 3 + 1] as number) - from), spans[run * 3 + 2] as number);
    });
    return { bytes, valueStarts: this.valueStarts, valueEnds: this.valueEnds, keyStarts: this.keyStarts, keyEnds: this.keyEnds };
  }

  /** Where `source[start, end)` will land: in the last run if it follows it closely in the same buffer. */
  private place(source: Uint8Array, start: number, end: number): number {
    const buffer = source.buffer;
    const from = source.byteOffset + start;
    const to = source.byteOffset + end;
    const last = this.runSources.length - 1;
    const spans = this.runSpans;
    if (last >= 0 && this.runSources[last] === buffer) {
      const lastTo = spans[last * 3 + 1] as number;
      if (from >= lastTo && from - lastTo <= MAX_GAP) {
        this.size += to - lastTo;
        spans[last * 3 + 1] = to;
        return (spans[last * 3 + 2] as number) + (from - (spans[last * 3] as number));
      }
    }
    this.runSources.push(buffer);
    spans.push(from, to, this.size);
    this.size += to - from;
    return this.size - (to - from);
  }
}

/** Buffers packed. */
export function packBuffers(values: readonly Uint8Array[], keys: ReadonlyArray<Uint8Array | null> | null): PackedRecords {
  const packer = new RecordPacker(values.length);
  for (let i = 0; i < values.length; i++) packer.addBuffers(values[i] as Uint8Array, keys?.[i] ?? null);
  return packer.pack();
}

/** Several packed batches as one, in order. */
export function joinPacked(parts: readonly PackedRecords[]): PackedRecords {
  const count = parts.reduce((n, part) => n + part.valueStarts.length, 0);
  const bytes = new Uint8Array(new SharedArrayBuffer(parts.reduce((n, part) => n + part.bytes.length, 0)));
  const joined = {
    bytes,
    valueStarts: new Uint32Array(count),
    valueEnds: new Uint32Array(count),
    keyStarts: new Int32Array(count),
    keyEnds: new Uint32Array(count),
  };
  let at = 0;
  let record = 0;
  for (const part of parts) {
    bytes.set(part.bytes, at);
    for (let i = 0; i < part.valueStarts.length; i++, record++) {
      joined.valueStarts[record] = (part.valueStarts[i] as number) + at;
      joined.valueEnds[record] = (part.valueEnds[i] as number) + at;
      const keyStart = part.keyStarts[i] as number;
      joined.keyStarts[record] = keyStart < 0 ? -1 : keyStart + at;
      joined.keyEnds[record] = keyStart < 0 ? 0 : (part.keyEnds[i] as number) + at;
    }
    at += part.bytes.length;
  }
  return joined;
}

/** Record i's value, copied out (for a dead letter: the batch's bytes are shared with the workers). */
export function packedValue(packed: PackedRecords, i: number): Buffer {
  return Buffer.from(packed.bytes.subarray(packed.valueStarts[i], packed.valueEnds[i]));
}

/** Record i's key, copied out; null: none. */
export function packedKey(packed: PackedRecords, i: number): Buffer | null {
  const start = packed.keyStarts[i] as number;
  return start < 0 ? null : Buffer.from(packed.bytes.subarray(start, packed.keyEnds[i]));
}

/** How many records a batch holds. */
export function recordCount(batch: SourceBatch): number {
  return batch.timestamps.length;
}

/** The batch's records packed for the workers (copied once, if they are not already). */
export function packedRecords(batch: SourceBatch): PackedRecords {
  return 'packed' in batch ? batch.packed : packBuffers(batch.values, batch.keys);
}

/** Record i's value, for a dead letter. */
export function recordValue(batch: SourceBatch, i: number): Buffer {
  return 'packed' in batch ? packedValue(batch.packed, i) : (batch.values[i] ?? Buffer.alloc(0));
}
