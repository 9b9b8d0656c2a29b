import { parseDuration } from '../config/durations.js';
import { UsageError } from '../errors.js';

const DAY_MS = 86_400_000;

/** A span of time for the command line: a config duration ("90s", "2h") or whole days ("7d"). */
export function parseSpan(value: string): number | undefined {
  const days = /^\s*(\d+)\s*d\s*$/.exec(value);
  if (days !== null) return Number(days[1]) * DAY_MS;
  return parseDuration(/^\d+$/.test(value) ? Number(value) : value);
}

/**
 * A point in time for --from and --to: `now`, `-SPAN` (that long before
 * now: `-7d`, `-36h`), an ISO date (`2025-11-24`, `2025-11-24T08:00Z`), or
 * milliseconds since the epoch.
 */
export function parseTime(value: string, option: string, now: number): number {
  if (value === 'now') return now;
  if (value.startsWith('-')) {
    const span = parseSpan(value.slice(1));
    if (span !== undefined) return now - span;
  } else if (/^\d+$/.test(value)) {
    return Number(value);
  } else {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${option} ${value}: expected now, -SPAN (such as -7d or -36h), an ISO date or milliseconds since the epoch`);
}

/** "2025-11-24T08:00:00.000Z", or "the beginning" / "the end" for an open bound. */
export function isoOrOpen(ms: number): string {
  if (ms === Number.NEGATIVE_INFINITY) return 'the beginning';
  if (ms === Number.POSITIVE_INFINITY) return 'the end';
  return new Date(ms).toISOString();
}
