/**
 * The owner's seed job (the rules in cluster.config.json): over 89 degrees,
 * outside 3σ of the last 500, 5% over the 5-minute average, +10% against
 * 5 minutes ago. The demo runs it and every benchmark measures it.
 */
export const SEED_RULES = {
  window: { size: 500, pane: '1s' },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
    { id: 'above-5m-avg', type: 'window_avg', span: '5m', abovePct: 5 },
    { id: 'rising-fast', type: 'rate_of_change', lag: '5m', pct: 10, direction: 'up' },
  ],
};
