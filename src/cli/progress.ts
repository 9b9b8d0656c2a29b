import type { RunningEngine } from '../coordinator/engine.js';

/**
 * A one-line live view on stderr (only when it is a terminal): readings/s over
 * the last interval, totals, zones, and how far behind the source the engine is.
 */
export function showProgress(engine: RunningEngine, intervalMs = 1_000): () => void {
  if (!process.stderr.isTTY) return () => {};
  let lastRecords = 0;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const { stats } = engine;
    const rate = ((stats.records - lastRecords) * 1000) / (now - lastAt);
    lastRecords = stats.records;
    lastAt = now;
    const behind = engine.source.lag();
    const line = [
      `${Math.round(rate).toLocaleString('en-US')} readings/s`,
      `${stats.records.toLocaleString('en-US')} read`,
      `${stats.alerts.toLocaleString('en-US')} alerts (${stats.firing} firing, ${stats.resolved} resolved)`,
      `${stats.rejected} dead letters`,
      `${stats.zones.toLocaleString('en-US')} zones`,
      `lag ${behind === undefined ? '-' : behind.toLocaleString('en-US')}`,
    ].join(' | ');
    process.stderr.write(`\r\u001b[2K${line}`);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\u001b[2K');
  };
}
