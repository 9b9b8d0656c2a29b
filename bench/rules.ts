/** The seed job's rules (the repo's cluster.config.json): every benchmark measures the same work. */
export const DEFAULT_RULES = {
  window: { size: 500, pane: '1s' },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
    { id: 'above-5m-avg', type: 'window_avg', span: '5m', abovePct: 5 },
    { id: 'rising-fast', type: 'rate_of_change', lag: '5m', pct: 10, direction: 'up' },
  ],
};
