/** Durations in the config are milliseconds as numbers, or strings like "500ms", "10s", "5m", "1h". */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** The pattern the config schema accepts for string durations. */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$';
const DURATION_RE = /^\s*(\d+)(?:\.(\d+))?\s*(ms|s|m|h)\s*$/;

/**
 * Parses a duration to whole milliseconds. Returns undefined for anything that
 * is not a non-negative, whole number of milliseconds.
 */
export function parseDuration(value: Duration): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else {
    const match = DURATION_RE.exec(value);
    const unit = UNIT_MS[match?.[3] ?? ''];
    if (!match || unit === undefined) return undefined;
    // Whole and fractional parts apart, so "1.5s" is exactly 1500 and big values stay exact.
    const fraction = match[2] === undefined ? 0 : Number(`0.${match[2]}`) * unit;
    const roundedFraction = Math.round(fraction * 1e6) / 1e6;
    ms = Number(match[1]) * unit + roundedFraction;
  }
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
}

/** "300000" → "5m", for messages and the terminal. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
