import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { WindowConfig } from '../config/types.js';
import { StateError } from '../errors.js';
import type { RuleIds, WindowPlan } from '../model/plan.js';
import type { SnapshotIdentity } from '../model/snapshot.js';
import { decodeRuleStates, encodeRuleStates } from './rule-state.js';
import { ZoneState } from './zone-state.js';

/** Bumped whenever the stored layout changes; older snapshots are refused (or converted: legacy-image.ts), never misread. */
export const SNAPSHOT_FORMAT = 3;

/**
 * A zone's image: a header, the zone's statistics in a fixed, dense layout
 * (the history's W values as float64, then per ring slot the pane sums and
 * the pane errors, as float64, and the pane counts, as uint32, all
 * little-endian: how the engine held them in memory before it kept them
 * compact, so images from before read as they are; writeStats and
 * readStats convert), then its rule states by rule id (rule-state.ts),
 * padded to a capacity that only grows. The header is the
 * zone's scalars as a msgpack array (format first, so any reader can tell
 * what it holds) behind a length byte, padded to a fixed size: the layout is
 * fixed, so a snapshot updates a stored image in place with the few byte
 * ranges a reading changes (and the rule states whole, when they changed)
 * instead of rewriting 10 KB.
 */
const HEADER = ['format', 'partition', 'seq', 'maxPane', 'count', 'head', 'shift', 'sum', 'sumSq', 'sinceRecompute', 'ruleBytes'] as const;
type HeaderField = Exclude<(typeof HEADER)[number], 'format'>;
/** 1 length byte + at most 1 + 9 bytes per field; a multiple of 8, so the buffer stays aligned. */
export const IMAGE_HEADER_BYTES = 96;

const packr = new Packr({ useRecords: false });

/** Updates of one partition's zones in a chunk a store applies in one command (bounded so Redis is never held long). */
const CHUNK_ZONES = 500;
const CHUNK_BYTES = 4 << 20;

/**
 * Identity of what a snapshot means: the image format and the window
 * (W, g, R). Rules are not part of it: they change live, and rule states are
 * stored by rule id (contract §7.1).
 */
export function snapshotIdentity(window: WindowConfig): SnapshotIdentity {
  const { size, paneMs, retain } = window;
  const fingerprint = createHash('sha256').update(JSON.stringify({ size, paneMs, retain })).digest('hex').slice(0, 16);
  return { format: SNAPSHOT_FORMAT, fingerprint, window: { size, paneMs, retain } };
}

/** Writes the zone's header into `target` at `at` (IMAGE_HEADER_BYTES bytes). */
function writeHeader(zone: ZoneState, target: Uint8Array, at: number): void {
  writeHeaderFields(
    HEADER.map((field) => (field === 'format' ? SNAPSHOT_FORMAT : zone[field])),
    target,
    at,
  );
}

/** Writes a header of these fields (in HEADER's order, format first) into `target` at `at`. */
export function writeHeaderFields(fields: readonly number[], target: Uint8Array, at: number): void {
  const packed = packr.pack(fields);
  target[at] = packed.byteLength;
  target.set(packed, at + 1);
  target.fill(0, at + 1 + packed.byteLength, at + IMAGE_HEADER_BYTES);
}

/** The capacity an image reserves for rule states of this many bytes (or more, when it had more). */
export function ruleCapacityFor(bytes: number, capacity: number): number {
  return bytes <= capacity ? capacity : Math.ceil(Math.max(bytes, 2 * capacity) / 16) * 16;
}

/** Encodes the zone's rule states and makes room for them: the capacity grows by doubling, in steps of 16 bytes. */
function ruleSection(zone: ZoneState, ids: RuleIds): Uint8Array {
  const section = encodeRuleStates(zone, ids);
  zone.ruleBytes = section.byteLength;
  zone.ruleCapacity = ruleCapacityFor(section.byteLength, zone.ruleCapacity);
  return section;
}

/** The image offset of the rule states. */
function ruleOffset(zone: ZoneState): number {
  return IMAGE_HEADER_BYTES + statsBytes(zone);
}

/** The zone's whole image. */
export function zoneImage(zone: ZoneState, ids: RuleIds): Uint8Array {
  const section = ruleSection(zone, ids);
  const image = Buffer.alloc(ruleOffset(zone) + zone.ruleCapacity);
  writeHeader(zone, image, 0);
  writeStats(zone, 0, statsBytes(zone), image, IMAGE_HEADER_BYTES);
  image.set(section, ruleOffset(zone));
  return new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
}

/** The fields of an image's header; throws StateError when they do not decode. */
export function imageHeader(zoneId: string, image: Uint8Array): unknown[] {
  let fields: unknown;
  try {
    fields = packr.unpack(image.subarray(1, 1 + (image[0] ?? 0)));
  } catch (error) {
    throw new StateError(`the snapshot of zone ${zoneId} does not decode`, { cause: error });
  }
  if (!Array.isArray(fields)) throw new StateError(`the snapshot of zone ${zoneId} has no header`);
  return fields;
}

/** Rebuilds a zone from its image; throws StateError for another format or another window's layout. */
export function zoneFromImage(zoneId: string, image: Uint8Array, window: WindowPlan, ids: RuleIds): ZoneState {
  const fields = imageHeader(zoneId, image);
  if (fields[0] !== SNAPSHOT_FORMAT) {
    throw new StateError(`the snapshot of zone ${zoneId} has format ${String(fields[0])}, this engine reads format ${SNAPSHOT_FORMAT}`);
  }
  const zone = new ZoneState(window);
  const statsEnd = ruleOffset(zone);
  const ruleBytes = Number(fields[HEADER.indexOf('ruleBytes')]);
  if (image.byteLength < statsEnd || !(ruleBytes >= 0 && ruleBytes <= image.byteLength - statsEnd)) {
    throw new StateError(`the snapshot of zone ${zoneId} has another layout (another window)`);
  }
  HEADER.forEach((field, i) => {
    if (field !== 'format') zone[field as HeaderField] = smallIntegerAsSmi(fields[i] as number);
  });
  try {
    readStats(zone, image.subarray(IMAGE_HEADER_BYTES, statsEnd));
    decodeRuleStates(zone, image.subarray(statsEnd, statsEnd + ruleBytes), ids, zoneId);
  } catch (error) {
    // A bad image: the places the zone took so far go back (the zone is never used).
    zone.release();
    throw error;
  }
  zone.ruleCapacity = image.byteLength - statsEnd;
  zone.markSnapshotted();
  return zone;
}

/**
 * The same number, as a small integer when it is one: msgpack may decode an
 * integer as a double, and one double stored in a field makes V8 keep that
 * field of every zone as a boxed double (16 bytes more per field and zone:
 * seq, count, head, partition and ruleBytes were, measured with %DebugPrint).
 */
function smallIntegerAsSmi(value: number): number {
  return (value | 0) === value ? value | 0 : value;
}

/**
 * Byte ranges of the image that changed since the zone's last snapshot, as
 * [offset, length] pairs: the header, the history slots written, the panes
 * written or recycled (in each of the three pane arrays) and, when they
 * changed, the rule states (their whole capacity). Call after ruleSection.
 */
export function changedRanges(zone: ZoneState): number[] {
  const ranges = [0, IMAGE_HEADER_BYTES];
  const w = zone.history.size;
  const r = zone.panes.size;
  const slots = (first: number, n: number, size: number, offset: number, ring: number) => {
    // A run of ring slots from `first`, wrapping at the ring's end.
    const head = Math.min(n, ring - first);
    ranges.push(IMAGE_HEADER_BYTES + offset + first * size, head * size);
    if (n > head) ranges.push(IMAGE_HEADER_BYTES + offset, (n - head) * size);
  };
  const added = Math.min(zone.historyAdded, w);
  if (added > 0) slots((zone.head - added + w) % w, added, 8, 0, w);
  if (r > 0 && zone.paneLow !== Number.POSITIVE_INFINITY) {
    const low = Math.max(zone.paneLow, zone.maxPane - r + 1);
    const n = zone.maxPane - low + 1;
    if (n > 0) {
      slots(low % r, n, 8, 8 * w, r);
      slots(low % r, n, 8, 8 * (w + r), r);
      slots(low % r, n, 4, 8 * (w + 2 * r), r);
    }
  }
  if (zone.rulesChanged && zone.ruleCapacity > 0) ranges.push(ruleOffset(zone), zone.ruleCapacity);
  return ranges;
}

/** Bytes of the dense statistics layout: W float64 values, then R pane sums, R pane errors (float64) and R pane counts (uint32). */
export function statsBytes(zone: ZoneState): number {
  return 8 * zone.history.size + 20 * zone.panes.size;
}

/**
 * Writes bytes [from, from + length) of the zone's statistics in the dense
 * layout into `out` at `at`. The range starts and ends on value boundaries
 * (changedRanges' ranges do), and may span several of the layout's arrays.
 */
export function writeStats(zone: ZoneState, from: number, length: number, out: Buffer, at: number): void {
  const w = zone.history.size;
  const r = zone.panes.size;
  const end = from + length;
  for (const { part, start, size, n } of statsParts(w, r)) {
    const lo = Math.max(from, start);
    const hi = Math.min(end, start + size * n);
    if (lo >= hi) continue;
    const first = (lo - start) / size;
    const count = (hi - lo) / size;
    const into = at + lo - from;
    if (part === 'history') {
      for (let i = 0; i < count; i++) out.writeDoubleLE(zone.history.at(first + i), into + 8 * i);
    } else {
      zone.panes.writeDense(part, first, count, out, into);
    }
  }
}

/** The dense layout's arrays: where each starts (bytes), its element size and length. */
function statsParts(w: number, r: number) {
  return [
    { part: 'history', start: 0, size: 8, n: w },
    { part: 'sum', start: 8 * w, size: 8, n: r },
    { part: 'error', start: 8 * (w + r), size: 8, n: r },
    { part: 'count', start: 8 * (w + 2 * r), size: 4, n: r },
  ] as const;
}

/**
 * Loads the zone's statistics from their dense layout (statsBytes long).
 * Call after the header's fields are set (count and M first). Slots past
 * the count are never written in a dense history (it fills in order before
 * it wraps): only the count's are read.
 */
function readStats(zone: ZoneState, bytes: Uint8Array): void {
  const w = zone.history.size;
  const r = zone.panes.size;
  // A DataView: the image may sit at any offset of a shared buffer, where typed arrays cannot view it.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.min(zone.count, w);
  zone.history.reserve(n);
  for (let i = 0; i < n; i++) zone.history.set(i, view.getFloat64(8 * i, true));
  zone.panes.loadDense(zone.maxPane, (slot, out) => {
    out.sum = view.getFloat64(8 * (w + slot), true);
    out.error = view.getFloat64(8 * (w + r + slot), true);
    out.count = view.getUint32(8 * (w + 2 * r) + 4 * slot, true);
  });
}

/** A never-snapshotted zone's image as ranges over zeros: everything written since it was made, and its rule states when it has some. */
function sparseRanges(zone: ZoneState): number[] {
  const ranges = changedRanges(zone);
  const rules = ranges.length >= 2 && ranges[ranges.length - 2] === ruleOffset(zone);
  if (!rules && zone.ruleBytes > 0) ranges.push(ruleOffset(zone), zone.ruleCapacity);
  return ranges;
}

/**
 * One zone's update as a store applies it: byte ranges written over the
 * stored image, or (whole) over a zero-filled image of `length` bytes that
 * replaces it. A zone's first image is written whole but sparse: only the
 * ranges its readings wrote, the rest is zeros, as in memory (a new zone's
 * 10 KB image is a few hundred bytes on the wire and in the snapshot).
 */
export interface ZoneUpdate {
  zoneId: string;
  whole: boolean;
  /** The image's length, when whole. */
  length: number;
  /** [offset, bytes] pairs. */
  writes: Array<[number, Uint8Array]>;
}

/**
 * Collects the updates of one partition's zones into chunks, little-endian:
 * per zone `u16 idLength, id (UTF-8), u8 whole, u16 n, u32 length`, then n
 * times `u32 offset, u32 length, bytes`. A Lua script in Redis reads this
 * (redis-store.ts; struct.unpack), so it is kept that plain.
 */
export class UpdatePacker {
  readonly chunks: Uint8Array[] = [];
  zones = 0;
  /** Bytes of state in the updates (images and ranges), before framing. */
  bytes = 0;
  /** The chunk being written, reused for every chunk (each is copied out when it closes). */
  private out = Buffer.allocUnsafeSlow(1 << 16);
  private at = 0;
  private chunkZones = 0;
  private chunkBytes = 0;

  /** Adds the zone whole, or only what changed since its last snapshot. */
  add(zoneId: string, zone: ZoneState, whole: boolean, ids: RuleIds): void {
    const section = whole || zone.rulesChanged ? ruleSection(zone, ids) : undefined;
    const rulesAt = ruleOffset(zone);
    const imageLength = rulesAt + zone.ruleCapacity;
    // A zone never snapshotted is its writes since it was made, over zeros: only they go. Otherwise whole is all of it.
    const ranges = !whole ? changedRanges(zone) : zone.pristine ? sparseRanges(zone) : [0, imageLength];
    const idLength = Buffer.byteLength(zoneId, 'utf8');
    let size = 9 + idLength;
    for (let i = 1; i < ranges.length; i += 2) size += 8 + (ranges[i] as number);
    this.reserve(size);
    const out = this.out;
    let at = this.at;
    out.writeUInt16LE(idLength, at);
    out.write(zoneId, at + 2, 'utf8');
    at += 2 + idLength;
    out[at] = whole ? 1 : 0;
    out.writeUInt16LE(ranges.length / 2, at + 1);
    out.writeUInt32LE(whole ? imageLength : 0, at + 3);
    at += 7;
    let bytes = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      const offset = ranges[i] as number;
      const length = ranges[i + 1] as number;
      out.writeUInt32LE(offset, at);
      out.writeUInt32LE(length, at + 4);
      at += 8;
      // A range is the header (offset 0; all of the image when whole), lies within the buffer, or is the rule states.
      if (offset === 0) {
        writeHeader(zone, out, at);
        if (length > IMAGE_HEADER_BYTES) writeStats(zone, 0, statsBytes(zone), out, at + IMAGE_HEADER_BYTES);
        if (length > rulesAt) writeSection(section, out, at + rulesAt, zone.ruleCapacity);
      } else if (offset === rulesAt) {
        writeSection(section, out, at, length);
      } else {
        writeStats(zone, offset - IMAGE_HEADER_BYTES, length, out, at);
      }
      at += length;
      bytes += length;
    }
    this.at = at;
    this.zones++;
    this.bytes += bytes;
    this.chunkZones++;
    this.chunkBytes += bytes;
    if (this.chunkZones >= CHUNK_ZONES || this.chunkBytes >= CHUNK_BYTES) this.close();
  }

  /** Adds a zone's whole image as it is (tools that copy snapshots, and benches that seed them). */
  addImage(zoneId: string, image: Uint8Array): void {
    const idLength = Buffer.byteLength(zoneId, 'utf8');
    this.reserve(17 + idLength + image.byteLength);
    const out = this.out;
    let at = this.at;
    out.writeUInt16LE(idLength, at);
    out.write(zoneId, at + 2, 'utf8');
    at += 2 + idLength;
    out[at] = 1;
    out.writeUInt16LE(1, at + 1);
    out.writeUInt32LE(image.byteLength, at + 3);
    out.writeUInt32LE(0, at + 7);
    out.writeUInt32LE(image.byteLength, at + 11);
    out.set(image, at + 15);
    this.at = at + 15 + image.byteLength;
    this.zones++;
    this.bytes += image.byteLength;
    this.chunkZones++;
    this.chunkBytes += image.byteLength;
    if (this.chunkZones >= CHUNK_ZONES || this.chunkBytes >= CHUNK_BYTES) this.close();
  }

  /** The chunks, the last one closed. */
  finish(): Uint8Array[] {
    if (this.chunkZones > 0) this.close();
    return this.chunks;
  }

  private reserve(size: number): void {
    if (this.at + size <= this.out.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.out.length, this.at + size));
    this.out.copy(grown, 0, 0, this.at);
    this.out = grown;
  }

  private close(): void {
    // A copy of its own: a view into the shared buffer would carry all of it across threads.
    this.chunks.push(Uint8Array.prototype.slice.call(this.out, 0, this.at));
    this.at = 0;
    this.chunkZones = 0;
    this.chunkBytes = 0;
  }
}

/** The updates in a chunk (what the Redis script reads; for tests and tools). */
export function unpackUpdates(chunk: Uint8Array): ZoneUpdate[] {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const updates: ZoneUpdate[] = [];
  for (let at = 0; at < bytes.length; ) {
    const idLength = bytes.readUInt16LE(at);
    const zoneId = bytes.toString('utf8', at + 2, at + 2 + idLength);
    at += 2 + idLength;
    const whole = bytes.readUInt8(at) === 1;
    const n = bytes.readUInt16LE(at + 1);
    const length = bytes.readUInt32LE(at + 3);
    at += 7;
    const writes: Array<[number, Uint8Array]> = [];
    for (let k = 0; k < n; k++) {
      const offset = bytes.readUInt32LE(at);
      const length = bytes.readUInt32LE(at + 4);
      writes.push([offset, bytes.subarray(at + 8, at + 8 + length)]);
      at += 8 + length;
    }
    updates.push({ zoneId, whole, length, writes });
  }
  return updates;
}

/** The rule states, zero-padded to `length` (the capacity reserved for them). */
function writeSection(section: Uint8Array | undefined, out: Buffer, at: number, length: number): void {
  const bytes = section?.byteLength ?? 0;
  if (section !== undefined) out.set(section, at);
  out.fill(0, at + bytes, at + length);
}

/** Applies an update to a stored image the way the Redis store does (a whole one over zeros; SETRANGE per write: a write past the end extends it). */
export function applyUpdate(stored: Uint8Array | undefined, update: ZoneUpdate): Uint8Array {
  const end = update.writes.reduce((last, [offset, bytes]) => Math.max(last, offset + bytes.byteLength), 0);
  if (update.whole) {
    stored = new Uint8Array(Math.max(end, update.length));
  } else if (stored === undefined) {
    throw new StateError(`zone ${update.zoneId} has an update but no stored image`);
  } else if (end > stored.byteLength) {
    const grown = new Uint8Array(end);
    grown.set(stored);
    stored = grown;
  }
  for (const [offset, bytes] of update.writes) stored.set(bytes, offset);
  return stored;
}
