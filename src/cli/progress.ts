import type { RunningEngine } from '../coordinator/engine.js';
import { terminal } from '../terminal.js';
import { progressLine } from './run-report.js';

/**
 * A live view at the bottom of the terminal (stderr, only when it is one):
 * readings/s over the last interval, totals, zones, and how far behind the
 * source the engine is; `header` lines (the demo's dashboard address) stay
 * above it. Alerts and log lines print above both (see terminal.ts).
 */
export function showProgress(engine: RunningEngine, header: readonly string[] = [], intervalMs = 1_000): () => void {
  if (!process.stderr.isTTY) return () => {};
  let lastRecords = 0;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const { stats } = engine;
    const rate = ((stats.records - lastRecords) * 1000) / (now - lastAt);
    lastRecords = stats.records;
    lastAt = now;
    terminal.set([...header, progressLine({ ...stats.snapshot(), rate, lag: engine.source.lag() })]);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    terminal.clear();
  };
}
