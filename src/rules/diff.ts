import { isDeepStrictEqual } from 'node:util';
import { formatDuration } from '../config/durations.js';
import type { Rule, RuleVersion } from '../config/types.js';
import { compileGlobs } from '../engine/globs.js';

/**
 * What a new version changes against the current one, for `klaxon rules
 * apply` to print before it publishes: rules added and removed, parameters
 * changed, and which zones come into or go out of a rule's scope (when the
 * zones are known, from the state store's snapshots).
 */
export function describeChange(current: RuleVersion | undefined, next: RuleVersion, knownZones: readonly string[] | undefined): string[] {
  const lines: string[] = [];
  const before = new Map((current?.rules ?? []).map((rule) => [rule.id, rule]));
  const after = new Map(next.rules.map((rule) => [rule.id, rule]));
  for (const rule of next.rules) {
    const old = before.get(rule.id);
    if (old === undefined) lines.push(`+ ${rule.id} (${rule.type}, ${rule.severity}${rule.shadow ? ', shadow' : ''}): ${describeRule(rule)}`);
    else {
      const changes = changesOf(old, rule);
      if (changes.length > 0) lines.push(`~ ${rule.id}: ${changes.join('; ')}`);
    }
    const scope = scopeChange(old, rule, knownZones);
    if (scope !== undefined) lines.push(`    ${scope}`);
  }
  for (const rule of current?.rules ?? []) {
    if (after.has(rule.id)) continue;
    lines.push(`- ${rule.id} (${rule.type}): removed; zones where it is firing resolve it as removed`);
    const scope = scopeChange(rule, undefined, knownZones);
    if (scope !== undefined) lines.push(`    ${scope}`);
  }
  if (lines.length === 0) lines.push('  no rule changes');
  return lines;
}

const INPUT_NAMES: Record<string, string> = { forMs: 'for', spanMs: 'span', lagMs: 'lag' };
const DURATIONS = new Set(['forMs', 'spanMs', 'lagMs']);
const SCOPE_KEYS = new Set(['zones', 'exceptZones']);

function show(key: string, value: unknown): string {
  if (value === undefined) return '(none)';
  if (DURATIONS.has(key) && typeof value === 'number') return formatDuration(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A rule's parameters in one line, input names, defaults included (but `for` only when it is not 0). */
function describeRule(rule: Rule): string {
  return Object.entries(rule)
    .filter(([key, value]) => !['id', 'type', 'severity', 'shadow', 'overrides'].includes(key) && value !== undefined && !(key === 'forMs' && value === 0))
    .map(([key, value]) => `${INPUT_NAMES[key] ?? key} ${show(key, value)}`)
    .concat(rule.overrides.length > 0 ? [`${rule.overrides.length} override(s)`] : [])
    .join(', ');
}

function changesOf(old: Rule, rule: Rule): string[] {
  const changes: string[] = [];
  if (old.type !== rule.type) changes.push(`type ${old.type} → ${rule.type} (its state starts over; a firing zone resolves it as removed)`);
  if (old.mode !== rule.mode) changes.push(`mode ${old.mode} → ${rule.mode} (its state starts over)`);
  if (old.shadow !== rule.shadow)
    changes.push(rule.shadow ? 'now shadow (its alerts leave the alerts sink)' : 'promoted from shadow (its alerts go to the alerts sink)');
  const keys = new Set([...Object.keys(old), ...Object.keys(rule)]);
  for (const key of keys) {
    if (['id', 'type', 'mode', 'shadow'].includes(key) || SCOPE_KEYS.has(key)) continue;
    const a = (old as Record<string, unknown>)[key];
    const b = (rule as Record<string, unknown>)[key];
    if (isDeepStrictEqual(a, b)) continue;
    if (key === 'overrides') changes.push(`overrides ${JSON.stringify(old.overrides)} → ${JSON.stringify(rule.overrides)}`);
    else changes.push(`${INPUT_NAMES[key] ?? key} ${show(key, a)} → ${show(key, b)}`);
  }
  for (const key of SCOPE_KEYS) {
    const a = (old as Record<string, unknown>)[key];
    const b = (rule as Record<string, unknown>)[key];
    if (!isDeepStrictEqual(a, b))
      changes.push(
        `${key} ${a === undefined ? (key === 'zones' ? 'all' : 'none') : show(key, a)} → ${b === undefined ? (key === 'zones' ? 'all' : 'none') : show(key, b)}`,
      );
  }
  return changes;
}

/** "3 zones newly in scope (a, b, c), 1 out (d)", when zones are known and the scope changed. */
function scopeChange(old: Rule | undefined, rule: Rule | undefined, knownZones: readonly string[] | undefined): string | undefined {
  const scope = (r: Rule | undefined) => (r === undefined ? undefined : { zones: r.zones, exceptZones: r.exceptZones });
  if (old !== undefined && rule !== undefined && isDeepStrictEqual(scope(old), scope(rule))) return undefined;
  if (knownZones === undefined) {
    return old !== undefined && rule !== undefined ? 'its zones changed (which zones it reaches: known only from a redis state store)' : undefined;
  }
  const applies = (r: Rule | undefined) => {
    if (r === undefined) return () => false;
    const inScope = r.zones === undefined ? () => true : compileGlobs(r.zones);
    const excluded = r.exceptZones === undefined ? () => false : compileGlobs(r.exceptZones);
    return (zone: string) => inScope(zone) && !excluded(zone);
  };
  const was = applies(old);
  const is = applies(rule);
  const into = knownZones.filter((zone) => is(zone) && !was(zone)).sort();
  const out = knownZones.filter((zone) => was(zone) && !is(zone)).sort();
  const list = (zones: string[]) => (zones.length === 0 ? '' : ` (${zones.slice(0, 5).join(', ')}${zones.length > 5 ? ', …' : ''})`);
  return `of ${knownZones.length} known zones: ${into.length} newly in scope${list(into)}, ${out.length} out${list(out)}`;
}
