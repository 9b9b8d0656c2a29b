/**
 * Alerts over time for the report's charts: firings counted per bucket of
 * a round width (a minute to a day) chosen so that the period has at most
 * about a hundred buckets, and time ticks that fall on round times (UTC).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WIDTHS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY];
const TICKS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY];

export interface Buckets {
  /** Start of the first bucket (a multiple of `width` since the epoch). */
  start: number;
  width: number;
  count: number;
}

/** Buckets covering [from, to] (reading ts, ms): at most about `most` of them, each a round width. */
export function bucketsFor(from: number, to: number, most = 100): Buckets {
  const span = Math.max(1, to - from);
  const width = WIDTHS.find((w) => span / w <= most) ?? (WIDTHS[WIDTHS.length - 1] as number);
  const start = Math.floor(from / width) * width;
  return { start, width, count: Math.floor((to - start) / width) + 1 };
}

/** [bucket start, firings in it] for every bucket, empty ones included (a line through zero, not across a gap). */
export function countPerBucket(timestamps: readonly number[], buckets: Buckets): Array<[number, number]> {
  const counts = new Array<number>(buckets.count).fill(0);
  for (const ts of timestamps) {
    const i = Math.floor((ts - buckets.start) / buckets.width);
    if (i >= 0 && i < counts.length) counts[i] = (counts[i] as number) + 1;
  }
  return counts.map((count, i) => [buckets.start + i * buckets.width, count]);
}

/** About six ticks on round times (a minute to a month apart) from `from` to `to`. */
export function timeTicks(from: number, to: number): number[] {
  const step = TICKS.find((t) => (to - from) / t <= 6) ?? (TICKS[TICKS.length - 1] as number);
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks.length > 0 ? ticks : [from];
}

/** A tick's label: the time of day when the period is within a day, else the date (and the time when ticks are hours apart). */
export function timeLabel(from: number, to: number): (ms: number) => string {
  const iso = (ms: number) => new Date(ms).toISOString();
  if (to - from <= DAY) return (ms) => iso(ms).slice(11, 16);
  if (to - from <= 3 * DAY) return (ms) => `${iso(ms).slice(5, 10)} ${iso(ms).slice(11, 16)}`;
  return (ms) => iso(ms).slice(5, 10);
}
