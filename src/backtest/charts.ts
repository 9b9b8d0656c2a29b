import { formatDuration } from '../config/durations.js';
import { lineChart, type Series } from '../report/svg-chart.js';
import type { BacktestReport } from './report.js';
import { timeLabel, timeTicks } from './timeline.js';

const CANDIDATE = { color: '#1f77b4' };
const BASELINE = { color: '#ff7f0e', dash: '6 4' };
const WIDTH = 860;
const HEIGHT = 260;

/** One chart per rule: its firing alerts per bucket of reading time, the baseline's (dashed) and the candidate's. */
export function ruleCharts(report: BacktestReport): Array<{ rule: string; svg: string }> {
  const timeline = report.timeline;
  if (timeline === null) return [];
  const starts = Array.from({ length: timeline.buckets }, (_, i) => timeline.start + i * timeline.widthMs);
  const from = starts[0] as number;
  const to = starts[starts.length - 1] as number;
  const markers = timeline.buckets <= 30;
  return timeline.rules.map(({ rule, candidate, baseline }) => {
    const series: Series[] = [];
    if (baseline !== null) series.push({ name: 'baseline', points: starts.map((t, i) => [t, baseline[i] ?? 0]), markers, ...BASELINE });
    series.push({ name: 'candidate', points: starts.map((t, i) => [t, candidate[i] ?? 0]), markers, ...CANDIDATE });
    const svg = lineChart({
      title: `${rule}: firing alerts per ${formatDuration(timeline.widthMs)}`,
      xLabel: `reading time (UTC), ${new Date(from).toISOString().slice(0, 10)} on`,
      yLabel: 'firing alerts',
      series,
      xTicks: timeTicks(from, to),
      xFormat: timeLabel(from, to),
      width: WIDTH,
      height: HEIGHT,
    });
    return { rule, svg };
  });
}

/** Every rule's chart one below the other, in one SVG document (the Markdown report's picture). */
export function stackedCharts(charts: ReadonlyArray<{ svg: string }>): string {
  const inner = charts.map(({ svg }, i) => svg.replace('<svg ', `<svg y="${i * HEIGHT}" `));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${Math.max(1, charts.length) * HEIGHT}" viewBox="0 0 ${WIDTH} ${Math.max(1, charts.length) * HEIGHT}">\n${inner.join('')}</svg>\n`;
}
