import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { RulesConfig } from '../config/types.js';
import { StateError } from '../errors.js';
import type { Plan } from '../rules/plan.js';
import { ZoneState } from './zone-state.js';

/** Bumped whenever the encoded layout changes; older snapshots are refused, never misread. */
export const SNAPSHOT_FORMAT = 1;

// Plain arrays, not msgpackr records: snapshots outlive the process that wrote them.
const packr = new Packr({ useRecords: false, moreTypes: true });

/**
 * Identity of what a snapshot means: the window and the rules. A snapshot made
 * under other rules or another window would give other alerts if resumed.
 */
export function rulesFingerprint(config: RulesConfig): string {
  const identity = { window: config.window, rules: config.rules };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** One zone's full state as bytes (its typed arrays travel as one binary block). */
export function encodeZone(zoneId: string, zone: ZoneState): Uint8Array {
  return packr.pack([
    SNAPSHOT_FORMAT,
    zoneId,
    zone.partition,
    zone.seq,
    zone.maxPane,
    zone.count,
    zone.head,
    zone.shift,
    zone.sum,
    zone.sumSq,
    zone.sinceRecompute,
    new Uint8Array(zone.buffer),
  ]);
}

export interface DecodedZone {
  zoneId: string;
  zone: ZoneState;
}

/** Rebuilds a zone; throws StateError for bytes of another format or another plan's layout. */
export function decodeZone(bytes: Uint8Array, plan: Plan): DecodedZone {
  let fields: unknown[];
  try {
    fields = packr.unpack(bytes) as unknown[];
  } catch (error) {
    throw new StateError('a zone snapshot does not decode', { cause: error });
  }
  if (!Array.isArray(fields) || fields[0] !== SNAPSHOT_FORMAT) {
    throw new StateError(`a zone snapshot has format ${Array.isArray(fields) ? String(fields[0]) : '?'}, this engine reads format ${SNAPSHOT_FORMAT}`);
  }
  const [, zoneId, partition, seq, maxPane, count, head, shift, sum, sumSq, sinceRecompute, buffer] = fields as [
    number, string, number, number, number, number, number, number, number, number, number, Uint8Array,
  ];
  const zone = new ZoneState(plan);
  if (!(buffer instanceof Uint8Array) || buffer.byteLength !== zone.buffer.byteLength) {
    throw new StateError(`the snapshot of zone ${String(zoneId)} has another layout (window or rules changed)`);
  }
  new Uint8Array(zone.buffer).set(buffer);
  Object.assign(zone, { partition, seq, maxPane, count, head, shift, sum, sumSq, sinceRecompute, dirty: false });
  return { zoneId, zone };
}

/**
 * The zone id of an encoded zone, read from the msgpack header alone: the
 * coordinator routes restored zones to their owners without decoding state.
 */
export function zoneIdOf(bytes: Uint8Array): string {
  // [fixarray(12), fixint format, str zoneId, ...]
  let at = 2;
  const tag = bytes[at] as number;
  let length: number;
  if ((tag & 0xe0) === 0xa0) {
    length = tag & 0x1f;
    at += 1;
  } else if (tag === 0xd9) {
    length = bytes[at + 1] as number;
    at += 2;
  } else if (tag === 0xda) {
    length = ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
    at += 3;
  } else {
    return decodeHeaderSlowly(bytes);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, length).toString('utf8');
}

function decodeHeaderSlowly(bytes: Uint8Array): string {
  const fields = packr.unpack(bytes) as unknown[];
  if (!Array.isArray(fields) || typeof fields[1] !== 'string') throw new StateError('a zone snapshot does not decode');
  return fields[1];
}
