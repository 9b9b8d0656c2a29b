/**
 * The floating-point care the contract needs, written once.
 *
 * Neumaier's compensated summation: `next = sum + x` loses a rounding error
 * that this returns exactly; callers add the errors up and add them back at
 * the end, which makes pane sums and two-pass moments exact enough that a
 * repeated sensor value equal to the average does not compare greater.
 */
export function roundingError(sum: number, x: number, next: number): number {
  return Math.abs(sum) >= Math.abs(x) ? sum - next + x : x - next + sum;
}

/** σ at or below this counts as zero for the zscore rule (contract §3: σ > 1e-9·max(1, │μ│)). */
export function sigmaFloor(mean: number): number {
  return 1e-9 * Math.max(1, Math.abs(mean));
}
