/**
 * A minimal SVG line chart: axes with ticks and grid, linear or log-10 y,
 * one polyline (with dots) per series, a legend on the right. Enough for the
 * bench charts and the backtest report without a plotting library (vega and
 * friends pull dozens of packages for a few static pictures). The SVG
 * stands alone: inline in an HTML page or as a file.
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color: string;
  /** SVG stroke-dasharray, e.g. "6 4"; solid when absent. */
  dash?: string;
  /** Dots at the points (default true; off for reference lines). */
  markers?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  /** Tick positions on x; default: about six round numbers from 0. */
  xTicks?: number[];
  /** How an x tick is written (default: 150k, 2.5M, 0.5). */
  xFormat?: (x: number) => string;
  width?: number;
  height?: number;
}

const PLOT = { left: 70, right: 250, top: 40, bottom: 50 };

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 860;
  const height = spec.height ?? 440;
  const points = spec.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!spec.logY || y > 0));
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const xTicks = spec.xTicks ?? niceTicks(0, Math.max(...xs));
  const [x0, x1] = [Math.min(...xTicks, ...xs), Math.max(...xTicks, ...xs)];
  const yTicks = spec.logY ? logTicks(Math.min(...ys), Math.max(...ys)) : niceTicks(0, Math.max(...ys));
  const [y0, y1] = [yTicks[0] as number, yTicks[yTicks.length - 1] as number];
  const plotW = width - PLOT.left - PLOT.right;
  const plotH = height - PLOT.top - PLOT.bottom;
  const sx = (x: number) => PLOT.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const ty = spec.logY ? Math.log10 : (y: number) => y;
  const sy = (y: number) => PLOT.top + plotH - ((ty(y) - ty(y0)) / (ty(y1) - ty(y0) || 1)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(spec.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (const y of yTicks) {
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.left + plotW}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${PLOT.left - 6}" y="${sy(y) + 4}" text-anchor="end">${short(y)}</text>`);
  }
  for (const x of xTicks) {
    out.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${PLOT.top}" y2="${PLOT.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${sx(x)}" y="${PLOT.top + plotH + 18}" text-anchor="middle">${esc((spec.xFormat ?? short)(x))}</text>`);
  }
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${PLOT.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${PLOT.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const shown = s.points.filter(([, y]) => Number.isFinite(y) && (!spec.logY || y > 0)).sort((a, b) => a[0] - b[0]);
    const dash = s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}"`;
    const path = shown.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    if (s.markers !== false) {
      for (const [x, y] of shown) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = PLOT.top + 10 + i * 20;
    const lx = PLOT.left + plotW + 16;
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** About six round ticks (steps of 1, 2 or 5 × 10^k) from lo to past hi. */
function niceTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo || 1) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) as number) * magnitude;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t < hi + step; t += step) ticks.push(t);
  return ticks;
}

/** 1, 2, 5 × each power of ten covering lo..hi. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) ticks.push(m * 10 ** e);
  }
  // Keep the decade below lo and the first tick at or above hi, nothing further.
  const first = ticks.filter((t) => t <= lo).pop() ?? (ticks[0] as number);
  const last = ticks.find((t) => t >= hi) ?? (ticks[ticks.length - 1] as number);
  return ticks.filter((t) => t >= first && t <= last);
}

/** 150000 → "150k", 2500000 → "2.5M", 0.5 → "0.5". */
function short(x: number): string {
  if (Math.abs(x) >= 1e6) return `${+(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
  return String(+x.toFixed(2));
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
