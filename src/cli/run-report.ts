import type { RunSummary } from '../coordinator/stats.js';
import { counted, formatCount } from './wording.js';

/** What the progress line shows: the run's totals so far, the rate over the last interval, and the source's lag. */
export interface ProgressView {
  readonly records: number;
  readonly firing: number;
  readonly resolved: number;
  readonly suppressed: number;
  readonly rejected: number;
  readonly zones: number;
  /** Readings per second over the last interval. */
  readonly rate: number;
  /** Records behind the source's end; undefined when the source cannot tell. */
  readonly lag: number | undefined;
}

/**
 * The progress line. Alerts written and alerts suppressed during a replay are
 * apart: a replay after a restart recomputes alerts that were written before
 * the crash (issue 15 saw 15,960 alerts reported against 377 written when the
 * two were one count).
 */
export function progressLine(view: ProgressView): string {
  return [
    `${formatCount(view.rate)} readings/s`,
    `${formatCount(view.records)} read`,
    `${counted(view.firing + view.resolved, 'alert')} written (${formatCount(view.firing)} firing, ${formatCount(view.resolved)} resolved)`,
    ...(view.suppressed > 0 ? [`${formatCount(view.suppressed)} suppressed in replay`] : []),
    counted(view.rejected, 'dead letter'),
    counted(view.zones, 'zone'),
    `lag ${view.lag === undefined ? '-' : formatCount(view.lag)}`,
  ].join(' | ');
}

/** The lines that close a run (without the `klaxon: ` in front). */
export function summaryLines(summary: RunSummary, options: { shadowSink: boolean } = { shadowSink: false }): string[] {
  const seconds = summary.elapsedMs / 1000;
  const suppressed = summary.suppressed > 0 ? `, ${formatCount(summary.suppressed)} suppressed during replay` : '';
  const lines = [
    `${counted(summary.records, 'record')} (${formatCount(summary.accepted)} accepted, ${counted(summary.rejected, 'dead letter')}), ` +
      `${counted(summary.alerts, 'alert')} written (${formatCount(summary.firing)} firing, ${formatCount(summary.resolved)} resolved)${suppressed}, ` +
      `${counted(summary.zones, 'zone')}, ${seconds.toFixed(1)} s, ${formatCount(summary.records / Math.max(seconds, 1e-3))} records/s`,
  ];
  if (summary.shadowAlerts > 0) {
    lines.push(
      `${counted(summary.shadowAlerts, 'alert')} of shadow rules, kept out of the alerts sink${options.shadowSink ? '' : ' (no shadowSink: counted only)'}`,
    );
  }
  if (summary.replayed > 0) {
    lines.push(`${counted(summary.replayed, 'record')} replayed after the snapshots to rebuild state (their alerts were written before)`);
  }
  if (summary.keyMismatches > 0) {
    // Per-zone order holds only within a partition: worth telling the producer's owner.
    lines.push(
      `${counted(summary.keyMismatches, 'record')} not keyed by their zone_id: per-zone order, and so the alerts, hold only when readings are keyed by zone_id`,
    );
  }
  return lines;
}
