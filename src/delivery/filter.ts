import type { DeliveryFilter } from '../config/types.js';
import type { AlertStatus } from '../model/alert.js';

/** The fields a filter looks at. */
export interface FilteredAlert {
  zoneId: string;
  rule: string;
  severity: string;
  status: AlertStatus;
}

export type AlertFilter = (alert: FilteredAlert) => boolean;

/**
 * A sink's filter as a predicate: every criterion given must match, and
 * within a criterion any of its values. No filter: every alert.
 */
export function alertFilter(filter: DeliveryFilter | undefined): AlertFilter {
  if (filter === undefined) return () => true;
  const severities = filter.severity === undefined ? undefined : new Set(filter.severity);
  const rules = filter.rules === undefined ? undefined : new Set(filter.rules);
  const statuses = filter.status === undefined ? undefined : new Set<string>(filter.status);
  const zones = filter.zones === undefined ? undefined : zoneGlobs(filter.zones);
  return (alert) =>
    (severities === undefined || severities.has(alert.severity)) &&
    (rules === undefined || rules.has(alert.rule)) &&
    (statuses === undefined || statuses.has(alert.status)) &&
    (zones === undefined || zones.test(alert.zoneId));
}

/**
 * Globs over the whole zone_id as one regular expression: `*` any run of
 * characters (none included), `?` exactly one character (a code point), every
 * other character itself. There are no escapes: a zone_id with `*` or `?` in
 * it is matched by the wildcard.
 */
export function zoneGlobs(globs: readonly string[]): RegExp {
  const alternatives = globs.map((glob) =>
    Array.from(glob, (char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join(''),
  );
  // `s`: a zone_id may hold any character, line breaks included; `u`: `?` is one code point.
  return new RegExp(`^(?:${alternatives.join('|')})$`, 'su');
}
