/**
 * Numbers in sentences for people: thousands separators and the right
 * singular or plural (Intl, not hand-rolled), in English like the rest of
 * Klaxon's output.
 */

const numbers = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const plurals = new Intl.PluralRules('en-US');

/** 1234567 → "1,234,567" (rounded to a whole number). */
export function formatCount(n: number): string {
  return numbers.format(n);
}

/** `counted(1, 'record')` → "1 record"; `counted(2000, 'dead letter')` → "2,000 dead letters". */
export function counted(n: number, one: string, other = `${one}s`): string {
  return `${formatCount(n)} ${plurals.select(n) === 'one' ? one : other}`;
}
