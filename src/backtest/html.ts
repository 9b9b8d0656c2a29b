import { formatDuration } from '../config/durations.js';
import { DIFFERENCE_HEADINGS, describeSet, differenceRows, exampleText, periodText, RULE_HEADINGS, readingsText, ruleCells } from './markdown.js';
import type { BacktestReport } from './report.js';

const number = new Intl.NumberFormat('en-US');

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function table(kind: string, headings: readonly string[], rows: ReadonlyArray<readonly string[]>, rowClass: (i: number) => string = () => ''): string {
  const head = `<tr>${headings.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((cells, i) => `<tr class="${rowClass(i)}">${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${kind}">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #1d2329; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d8dee6; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { border: 1px solid #d8dee6; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child, table.rules td:nth-child(2) { text-align: left; } th { background: #f3f5f8; }
tr.baseline td { color: #6b7785; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; }
.figures { font-size: 1.1rem; } .only-candidate { color: #1f77b4; } .only-baseline { color: #c45f00; }
code { font-size: 12px; } figure { margin: 1rem 0; } svg { max-width: 100%; height: auto; }
`;

/**
 * The HTML report: one self-contained page (inline style and inline SVG
 * charts, no script, nothing fetched), the same content as the Markdown
 * report with a chart per rule.
 */
export function htmlReport(report: BacktestReport, charts: ReadonlyArray<{ rule: string; svg: string }>): string {
  const { candidate, baseline } = report.ruleSets;
  const title = `Backtest: ${candidate.label}${baseline === null ? '' : ` against ${baseline.label}`}`;
  const facts: Array<[string, string]> = [
    ['input', report.input],
    [
      'asked for',
      `from ${report.requested.from} to ${report.requested.to}${report.requested.warmup === null ? '' : `, warm-up ${report.requested.warmup}`}${report.requested.zones === null ? '' : `, zones ${report.requested.zones.join(', ')}`}`,
    ],
    ['period counted', periodText(report)],
    ['readings', readingsText(report)],
    ['window', `${report.window.size} readings, ${formatDuration(report.window.paneMs)} panes, ${report.window.retain} panes retained`],
    ['candidate', describeSet(candidate)],
  ];
  if (baseline !== null) facts.push(['baseline', `${describeSet(baseline)}${report.ruleSets.identical ? ' (the same rules as the candidate)' : ''}`]);
  facts.push(['run', `${report.run.workers} workers, ${report.run.seconds} s, ${number.format(report.run.readingsPerSecond)} records/s`]);
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(title)}</h1>`,
    `<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('\n')}</dl>`,
  ];
  if (report.difference !== null) {
    const d = report.difference;
    out.push(
      '<h2>The difference</h2>',
      `<p class="figures"><span class="only-candidate">${number.format(d.onlyCandidate)} alerts only under the candidate</span>, <span class="only-baseline">${number.format(d.onlyBaseline)} only under the baseline</span>, ${number.format(d.both)} in both.</p>`,
      table('difference', DIFFERENCE_HEADINGS, differenceRows(report)),
    );
  }
  const rows: string[][] = [];
  const kinds: string[] = [];
  for (const rule of report.rules) {
    if (rule.baseline !== null) {
      rows.push(ruleCells(rule, 'baseline', rule.baseline));
      kinds.push('baseline');
    }
    rows.push(ruleCells(rule, 'candidate', rule.candidate));
    kinds.push('candidate');
  }
  out.push(
    '<h2>Per rule</h2>',
    table('rules', RULE_HEADINGS, rows, (i) => kinds[i] ?? ''),
    '<p>"firings/zone/day" is per zone where the rule fired, over the period counted.</p>',
  );
  out.push('<h2>Alerts over time</h2>');
  if (charts.length === 0) out.push('<p>No reading was counted.</p>');
  for (const { rule, svg } of charts) {
    out.push(`<figure aria-label="${esc(rule)}">${svg}</figure>`);
    const examples = (['candidate', 'baseline'] as const).flatMap((side) =>
      (report.examples[side][rule] ?? []).map((alert) => `<li class="only-${side}">only under the ${side}: <code>${esc(exampleText(alert))}</code></li>`),
    );
    if (examples.length > 0) out.push(`<ul>${examples.join('\n')}</ul>`);
  }
  out.push('<h2>Keep in mind</h2>', `<ul>${report.notes.map((note) => `<li>${esc(note)}</li>`).join('\n')}</ul>`, '</body>', '</html>', '');
  return out.join('\n');
}
