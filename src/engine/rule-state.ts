import { Packr } from 'msgpackr';
import { StateError } from '../errors.js';
import { type AlertRule, RULE_TYPES, type RuleIds, SEVERITIES, type ZonePlan } from '../model/plan.js';
import { slabPool } from './slab.js';

/**
 * A zone's rule states (contract §4, §7.2, §7.4), kept by rule id: one byte
 * per rule slot (the worker's registry of ids, rule-book.ts), and `t0` per
 * slot for `for`, both allocated only once the zone has a state at all.
 *
 * A state exists while its rule is FIRING or PENDING (its condition holds
 * since t0, waiting for `for`). It remembers the kind and shadow flag it was
 * made under (a state whose rule changes either is dropped) and the severity
 * its rule had when it fired (a removal resolves with it). OK without t0 is
 * no state: the byte is 0.
 */
export const FIRING = 1;
export const PENDING = 2;
const SHADOW = 4;
const KIND_SHIFT = 3;
const SEVERITY_SHIFT = 5;

export function stateBitsOf(kind: number, shadow: boolean, severity: number): number {
  return (kind << KIND_SHIFT) | (shadow ? SHADOW : 0) | (severity << SEVERITY_SHIFT);
}

/** A FIRING state dropped because its rule is gone, out of scope or changed kind, mode or shadow: it resolves as removed. */
export interface Removal extends AlertRule {
  slot: number;
}

const packr = new Packr({ useRecords: false });

/**
 * One rule set's states of one zone. A zone (ZoneState) holds the states of
 * the rule set it runs under; a backtest keeps a second namespace per zone
 * for its baseline, evaluated over the same statistics (backtest-shard.ts).
 */
export interface RuleStates {
  /** The rules of the zone's latest reading (null: none yet, or restored): a reading outside its version's span looks again. */
  plan: ZonePlan | null;
  /** State bytes by slot; null until the zone has one. */
  ruleFlags: Uint8Array | null;
  /** t0 by slot, for PENDING states; null until a rule with `for` needs one. */
  ruleT0: Float64Array | null;
  /** The states changed since the last snapshot. */
  rulesChanged: boolean;
}

export function emptyRuleStates(): RuleStates {
  return { plan: null, ruleFlags: null, ruleT0: null, rulesChanged: false };
}

const makeBytes = (buffer: ArrayBuffer, byteOffset: number, length: number) => new Uint8Array(buffer, byteOffset, length);
const makeDoubles = (buffer: ArrayBuffer, byteOffset: number, length: number) => new Float64Array(buffer, byteOffset, length);

/**
 * The zone's state bytes, allocated on first use and grown to cover `slots`
 * (8 at least, a multiple of 8). They and the t0s are views of places in
 * shared slabs (slab.ts): an ArrayBuffer per zone cost ~330 bytes of objects
 * and allocator bookkeeping around 8 bytes of states (measured on a heap
 * snapshot). Callers read `ruleFlags` afresh after a call: a grown array
 * replaces the old one, whose place is given back.
 */
export function statesOf(zone: RuleStates, slots: number): Uint8Array {
  const flags = zone.ruleFlags;
  if (flags !== null && flags.length >= slots) return flags;
  const grown = slabPool(Math.max(slots, 8)).takeView(makeBytes, 1);
  if (flags !== null) {
    grown.set(flags);
    slabPool(flags.byteLength).giveView(flags);
  }
  zone.ruleFlags = grown;
  const t0 = zone.ruleT0;
  if (t0 !== null) {
    zone.ruleT0 = slabPool(8 * grown.length).takeView(makeDoubles, 8);
    zone.ruleT0.set(t0);
    slabPool(t0.byteLength).giveView(t0);
  }
  return grown;
}

export function t0Of(zone: RuleStates): Float64Array {
  zone.ruleT0 ??= slabPool(8 * (zone.ruleFlags?.length ?? 8)).takeView(makeDoubles, 8);
  return zone.ruleT0;
}

/** Gives the places of the zone's rule states back (the zone is gone); it has none after. */
export function releaseRuleStates(zone: RuleStates): void {
  if (zone.ruleFlags !== null) slabPool(zone.ruleFlags.byteLength).giveView(zone.ruleFlags);
  if (zone.ruleT0 !== null) slabPool(zone.ruleT0.byteLength).giveView(zone.ruleT0);
  zone.ruleFlags = null;
  zone.ruleT0 = null;
}

/**
 * Before a zone's first reading under another plan: drops every state whose
 * rule is absent from the plan, does not apply to the zone, is in mode every,
 * or has another kind or shadow flag there (contract §7.2). Returns the
 * FIRING ones dropped, in rule id order (code points), to be resolved as
 * removed before the reading's own alerts.
 */
export function reconcile(zone: RuleStates, plan: ZonePlan, ids: RuleIds): Removal[] {
  const flags = zone.ruleFlags;
  if (flags === null) return [];
  let removals: Removal[] | undefined;
  for (let slot = 0; slot < flags.length; slot++) {
    const state = flags[slot] as number;
    if (state === 0) continue;
    const index = slot < plan.indexOfSlot.length ? (plan.indexOfSlot[slot] as number) : -1;
    const rule = index < 0 ? undefined : plan.rules[index];
    const bits = state & ~(FIRING | PENDING);
    if (rule !== undefined && !rule.every && (rule.stateBits & ((3 << KIND_SHIFT) | SHADOW)) === (bits & ((3 << KIND_SHIFT) | SHADOW))) continue;
    flags[slot] = 0;
    zone.rulesChanged = true;
    if ((state & FIRING) === 0) continue;
    removals ??= [];
    removals.push({
      slot,
      id: ids.idOf(slot),
      type: RULE_TYPES[(bits >> KIND_SHIFT) & 3] ?? 'threshold',
      severity: SEVERITIES[(bits >> SEVERITY_SHIFT) & 3] ?? 'warning',
      shadow: (bits & SHADOW) !== 0,
      version: plan.span.version,
    });
  }
  return removals === undefined ? [] : removals.sort((a, b) => compareCodePoints(a.id, b.id));
}

/** Unicode code point order (String's `<` compares UTF-16 units, which differs for characters past U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const x = a[Symbol.iterator]();
  const y = b[Symbol.iterator]();
  for (;;) {
    const p = x.next();
    const q = y.next();
    if (p.done || q.done) return p.done === q.done ? 0 : p.done ? -1 : 1;
    const d = (p.value.codePointAt(0) as number) - (q.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

export function isFiring(zone: RuleStates): boolean {
  const flags = zone.ruleFlags;
  if (flags === null) return false;
  for (let slot = 0; slot < flags.length; slot++) if (((flags[slot] as number) & (FIRING | SHADOW)) === FIRING) return true;
  return false;
}

/** The zone's FIRING live rules with the type and severity they fired under (from the state bits: exact whatever versions came since). */
export function firingStates(zone: RuleStates, ids: RuleIds): Array<Pick<AlertRule, 'id' | 'type' | 'severity'>> {
  const out: Array<Pick<AlertRule, 'id' | 'type' | 'severity'>> = [];
  const flags = zone.ruleFlags;
  if (flags === null) return out;
  for (let slot = 0; slot < flags.length; slot++) {
    const state = flags[slot] as number;
    if ((state & (FIRING | SHADOW)) !== FIRING) continue;
    out.push({
      id: ids.idOf(slot),
      type: RULE_TYPES[(state >> KIND_SHIFT) & 3] ?? 'threshold',
      severity: SEVERITIES[(state >> SEVERITY_SHIFT) & 3] ?? 'warning',
    });
  }
  return out;
}

/** Ids of the zone's FIRING rules (in the order the worker first saw them: the rule order of the first version), shadow ones apart. */
export function firingRuleIds(zone: RuleStates, ids: RuleIds, shadow: boolean): string[] {
  const out: string[] = [];
  const flags = zone.ruleFlags;
  if (flags === null) return out;
  for (let slot = 0; slot < flags.length; slot++) {
    const state = flags[slot] as number;
    if ((state & FIRING) !== 0 && ((state & SHADOW) !== 0) === shadow) out.push(ids.idOf(slot));
  }
  return out;
}

/**
 * The zone's rule states for its image, by rule id (slots are this worker's,
 * not the store's): msgpack `[[id, state], [id, state, t0], …]`, t0 only for
 * PENDING states. Empty when the zone has none.
 */
export function encodeRuleStates(zone: RuleStates, ids: RuleIds): Uint8Array {
  const flags = zone.ruleFlags;
  const entries: Array<[string, number] | [string, number, number]> = [];
  if (flags !== null) {
    for (let slot = 0; slot < flags.length; slot++) {
      const state = flags[slot] as number;
      if (state === 0) continue;
      entries.push((state & PENDING) !== 0 ? [ids.idOf(slot), state, zone.ruleT0?.[slot] ?? 0] : [ids.idOf(slot), state]);
    }
  }
  if (entries.length === 0) return new Uint8Array(0);
  // pack() returns a view of a shared buffer: copied so the next pack cannot overwrite it.
  return Uint8Array.prototype.slice.call(packr.pack(entries));
}

/** Restores what encodeRuleStates wrote, registering ids this worker has not seen yet. */
export function decodeRuleStates(zone: RuleStates, bytes: Uint8Array, ids: RuleIds, zoneId: string): void {
  if (bytes.byteLength === 0) return;
  let entries: unknown;
  try {
    entries = packr.unpack(bytes);
  } catch (error) {
    throw new StateError(`the rule states in the snapshot of zone ${zoneId} do not decode`, { cause: error });
  }
  if (!Array.isArray(entries)) throw new StateError(`the rule states in the snapshot of zone ${zoneId} are not a list`);
  for (const entry of entries as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
      throw new StateError(`the snapshot of zone ${zoneId} holds a malformed rule state`);
    }
    const slot = ids.slotOf(entry[0]);
    statesOf(zone, ids.size)[slot] = entry[1];
    if ((entry[1] & PENDING) !== 0) t0Of(zone)[slot] = Number(entry[2]);
  }
}
