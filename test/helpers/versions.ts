import { referenceParse } from './reference.js';

/**
 * Splits a stream where each version takes effect: part i holds the lines
 * from the first reading at or past version i's effectiveFrom (part 0 from
 * the start) up to the next such reading. Publishing version i between
 * parts i−1 and i puts it in force before any reading of its time arrives.
 */
export function splitByVersion(lines: readonly string[], versions: ReadonlyArray<{ effectiveFrom: number }>): string[][] {
  const parts: string[][] = versions.map(() => []);
  let current = 0;
  for (const line of lines) {
    const ts = referenceParse(line)?.ts;
    while (ts !== undefined && current + 1 < versions.length && ts >= (versions[current + 1]?.effectiveFrom ?? Number.POSITIVE_INFINITY)) current++;
    parts[current]?.push(line);
  }
  return parts;
}
