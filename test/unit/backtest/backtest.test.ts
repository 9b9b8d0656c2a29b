/**
 * `klaxon backtest` in-process (shards on this thread), file input: it
 * reproduces the samples exactly, its difference between two rule sets is
 * the one the reference model gives independently, its time range and
 * warm-up are those of the readings' ts, and its reports stand alone.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { type BacktestOptions, backtest } from '../../../src/backtest/backtest.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError, UsageError } from '../../../src/errors.js';
import { assertSameAlerts } from '../../helpers/compare.js';
import { globMatches, type RefAlert, referenceAlerts, referenceParse } from '../../helpers/reference.js';
import { parseNdjson, tempDir } from '../../helpers/run-engine.js';
import { readSample, type Sample, type SampleName } from '../../helpers/samples.js';

interface Setup {
  dir: string;
  input: string;
  rules: string;
  sample: Sample;
}

async function setup(t: TestContext, name: SampleName): Promise<Setup> {
  const sample = await readSample(name);
  const dir = await tempDir(t);
  const input = join(dir, 'readings.ndjson');
  await writeFile(input, sample.lines.map((line) => `${line}\n`).join(''));
  const rules = join(dir, 'rules.json');
  await writeFile(rules, JSON.stringify(sample.rules));
  return { dir, input, rules, sample };
}

async function run(dir: string, options: Omit<BacktestOptions, 'out' | 'inProcess'>) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const outcome = await backtest({ ...options, out, inProcess: true });
  const candidate = parseNdjson(await readFile(outcome.files.candidateAlerts, 'utf8'));
  const difference = outcome.files.difference === undefined ? [] : parseNdjson(await readFile(outcome.files.difference, 'utf8'));
  return { ...outcome, candidate, difference };
}

/** The reference model over some lines with a rules part of a config. */
function reference(lines: readonly string[], rules: Record<string, unknown>): RefAlert[] {
  const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...rules }, { baseDir: '/' });
  return referenceAlerts(lines, config).alerts;
}

const key = (alert: object) => `${(alert as RefAlert).alert_id}|${(alert as RefAlert).status}`;

describe('a backtest of a sample reproduces its alerts exactly', () => {
  for (const [name, workers] of [
    ['sample-a', 1],
    ['sample-a', 3],
    ['sample-v2', 2],
  ] as const) {
    test(`${name}, ${workers} worker${workers > 1 ? 's' : ''}`, async (t) => {
      const { dir, input, rules, sample } = await setup(t, name);
      const { candidate, report } = await run(dir, { rules, input, workers });
      // Shadow rules' alerts (sample-v2) are the candidate's too, marked shadow.
      assertSameAlerts(candidate, sample.alerts, `${name} backtest`);
      for (const rule of report.rules) {
        const firing = sample.alerts.filter((a) => a.rule === rule.rule && a.status === 'firing');
        assert.equal(rule.candidate.firing, firing.length, `${rule.rule}: firing`);
        assert.equal(rule.candidate.zonesAffected, new Set(firing.map((a) => a.zone_id)).size, `${rule.rule}: zones`);
      }
      assert.equal(report.readings.invalid, sample.deadLines.length);
      assert.equal(report.readings.read, sample.lines.length);
      assert.equal(report.difference, null, 'no baseline, no difference');
    });
  }
});

describe('a candidate changing one threshold: the exact difference, computed independently', () => {
  test('sample-a, too-hot above 85 instead of 89, against the sample rules', async (t) => {
    const { dir, input, rules, sample } = await setup(t, 'sample-a');
    const candidateRules = structuredClone(sample.rules) as { rules: Array<Record<string, unknown>> };
    (candidateRules.rules[0] as Record<string, unknown>).above = 85;
    const candidateFile = join(dir, 'candidate.json');
    await writeFile(candidateFile, JSON.stringify(candidateRules));
    await assertDifference(dir, { rules: candidateFile, baseline: rules, input }, reference(sample.lines, candidateRules), sample.alerts);
  });

  test('sample-v2 (versions by event time), version 3 too-hot above 84 instead of 86', async (t) => {
    const { dir, input, rules, sample } = await setup(t, 'sample-v2');
    const candidateRules = structuredClone(sample.rules) as { versions: Array<{ rules: Array<Record<string, unknown>> }> };
    const tooHot = candidateRules.versions[2]?.rules.find((rule) => rule.id === 'too-hot');
    assert.ok(tooHot !== undefined);
    tooHot.above = 84;
    const candidateFile = join(dir, 'candidate.json');
    await writeFile(candidateFile, JSON.stringify(candidateRules));
    await assertDifference(dir, { rules: candidateFile, baseline: rules, input, workers: 2 }, reference(sample.lines, candidateRules), sample.alerts);
  });
});

async function assertDifference(
  dir: string,
  options: Omit<BacktestOptions, 'out'>,
  candidateExpected: readonly object[],
  baselineExpected: readonly object[],
): Promise<void> {
  const candidateKeys = new Set(candidateExpected.map(key));
  const baselineKeys = new Set(baselineExpected.map(key));
  const onlyCandidate = [...candidateKeys].filter((k) => !baselineKeys.has(k)).sort();
  const onlyBaseline = [...baselineKeys].filter((k) => !candidateKeys.has(k)).sort();
  const both = [...candidateKeys].filter((k) => baselineKeys.has(k)).length;
  assert.ok(onlyCandidate.length > 0 && onlyBaseline.length > 0, 'the change makes a difference both ways');
  const { candidate, difference, report } = await run(dir, options);
  assertSameAlerts(candidate, candidateExpected, 'the candidate');
  const side = (only: string) =>
    difference
      .filter((d) => d.only === only)
      .map((d) => key(d.alert as Record<string, unknown>))
      .sort();
  assert.deepEqual(side('candidate'), onlyCandidate, 'only under the candidate');
  assert.deepEqual(side('baseline'), onlyBaseline, 'only under the baseline');
  assert.deepEqual(report.difference, { onlyCandidate: onlyCandidate.length, onlyBaseline: onlyBaseline.length, both });
  // Per rule too: the difference of the rule changed, nothing elsewhere.
  for (const rule of report.rules) {
    const of = (keys: string[]) => keys.filter((k) => k.split('|')[0]?.split(':')[1] === rule.rule).length;
    assert.equal(rule.difference?.onlyCandidate, of(onlyCandidate), `${rule.rule}: only under the candidate`);
    assert.equal(rule.difference?.onlyBaseline, of(onlyBaseline), `${rule.rule}: only under the baseline`);
  }
}

describe('which readings count', () => {
  test('--from, --to and --warmup by reading ts: readings outside are absent, warm-up ones build statistics only', async (t) => {
    const { dir, input, rules, sample } = await setup(t, 'sample-a');
    const timestamps = sample.lines.map((line) => referenceParse(line)?.ts).filter((ts): ts is number => ts !== undefined);
    const first = Math.min(...timestamps);
    const from = first + 18 * 60_000;
    const to = first + 30 * 60_000;
    const warmupMs = 10 * 60_000;
    const within = (lo: number, hi: number) =>
      sample.lines.filter((line) => {
        const ts = referenceParse(line)?.ts;
        return ts !== undefined && ts >= lo && ts < hi;
      });
    const warmed = reference(within(from - warmupMs, to), sample.rules).filter((alert) => alert.ts >= from);
    const cold = reference(within(from, to), sample.rules);
    assert.ok(warmed.length > 100 && cold.length > 100);
    const withWarmup = await run(dir, { rules, input, from, to, warmupMs });
    assertSameAlerts(withWarmup.candidate, warmed, 'with a warm-up');
    assert.equal(withWarmup.report.readings.warmup, within(from - warmupMs, from).length);
    assert.equal(withWarmup.report.readings.counted, within(from, to).length);
    const withoutWarmup = await run(dir, { rules, input, from, to });
    assertSameAlerts(withoutWarmup.candidate, cold, 'without a warm-up');
    assert.match(withoutWarmup.report.notes.join('\n'), /--warmup DURATION reads earlier readings/);
  });

  test('--zones: only the zones matching a glob, each exactly as in the whole run', async (t) => {
    const { dir, input, rules, sample } = await setup(t, 'sample-a');
    const globs = ['zone-7-1*', 'Zone H/*'];
    const { candidate, report } = await run(dir, { rules, input, zones: globs });
    const expected = sample.alerts.filter((alert) => globs.some((glob) => globMatches(glob, alert.zone_id as string)));
    assert.ok(expected.length > 50 && expected.length < sample.alerts.length / 2);
    assertSameAlerts(candidate, expected, '--zones');
    assert.ok(report.readings.skipped > 0);
  });
});

test('the reports: Markdown with the difference and examples, a self-contained HTML page with a chart per rule, summary.json', async (t) => {
  const { dir, input, rules, sample } = await setup(t, 'sample-a');
  const candidateRules = structuredClone(sample.rules) as { rules: Array<Record<string, unknown>> };
  (candidateRules.rules[0] as Record<string, unknown>).above = 85;
  const candidateFile = join(dir, 'candidate.json');
  await writeFile(candidateFile, JSON.stringify(candidateRules));
  const { files, report } = await run(dir, { rules: candidateFile, baseline: rules, input });
  const markdown = await readFile(files.markdown, 'utf8');
  assert.match(markdown, /## The difference/);
  assert.match(markdown, /\| too-hot \| candidate \| \d+ \| \d+ \| \d+ \|/);
  assert.match(markdown, /only under the candidate, for example:\n\n- [^\n]+:too-hot:\d+ (firing|resolved)/);
  assert.match(markdown, /!\[[^\]]*\]\(alerts-over-time\.svg\)/);
  const html = await readFile(files.html, 'utf8');
  // Self-contained: nothing fetched, nothing run.
  for (const outside of [/<script/i, /\ssrc=/i, /\shref=/i, /url\(/i, /@import/i]) assert.doesNotMatch(html, outside);
  assert.equal((html.match(/<figure/g) ?? []).length, report.rules.length, 'a chart per rule');
  assert.match(html, /<polyline[^>]*stroke="#ff7f0e"[^>]*stroke-dasharray/, 'the baseline, dashed');
  const svg = await readFile(files.chart as string, 'utf8');
  assert.equal((svg.match(/<title>/g) ?? []).length, report.rules.length);
  const summary = JSON.parse(await readFile(files.summary, 'utf8'));
  assert.deepEqual(summary.difference, report.difference);
  const tooHot = report.timeline?.rules.find((r) => r.rule === 'too-hot');
  assert.equal(
    tooHot?.candidate.reduce((a, b) => a + b, 0),
    report.rules.find((r) => r.rule === 'too-hot')?.candidate.firing,
    'the chart counts every firing',
  );
});

describe('bad input is refused before anything is read (exit code 2), saying why', () => {
  const refused = async (t: TestContext, options: (s: Setup) => Omit<BacktestOptions, 'out'>, message: RegExp) => {
    const s = await setup(t, 'sample-a');
    await assert.rejects(
      () => backtest({ ...options(s), out: join(s.dir, 'out'), inProcess: true }),
      (error: unknown) => (error instanceof UsageError || error instanceof ConfigError) && error.exitCode === 2 && message.test(error.message),
    );
  };
  test('an unreadable rules file', (t) => refused(t, (s) => ({ rules: join(s.dir, 'missing.json'), input: s.input }), /missing\.json: cannot read the rules/));
  test('an unreadable input', (t) =>
    refused(t, (s) => ({ rules: s.rules, input: join(s.dir, 'nope.ndjson') }), /cannot read the input file .*nope\.ndjson \(ENOENT\)/));
  test('rules that fail validation, named by file and path', async (t) => {
    const s = await setup(t, 'sample-a');
    const bad = join(s.dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({
        rules: [
          { id: 'x', type: 'threshold' },
          { id: 'y', type: 'zscore', k: -1 },
        ],
      }),
    );
    await refused(
      t,
      () => ({ rules: bad, input: s.input }),
      /(?=[\s\S]*bad\.json: \/rules\/0: a threshold rule needs)(?=[\s\S]*bad\.json: \/rules\/1\/k: must be > 0)/,
    );
  });
  test('a baseline over another window', async (t) => {
    const s = await setup(t, 'sample-a');
    const other = join(s.dir, 'other.json');
    await writeFile(other, JSON.stringify({ ...s.sample.rules, window: { size: 100, pane: '1s' } }));
    await refused(t, () => ({ rules: s.rules, baseline: other, input: s.input }), /other\.json: its window \(size 100, .*\) is not the backtest's \(size 500/);
  });
  test('--from not before --to', (t) => refused(t, (s) => ({ rules: s.rules, input: s.input, from: 2_000, to: 1_000 }), /--from .* is not before --to/));
  test('--warmup without --from', (t) => refused(t, (s) => ({ rules: s.rules, input: s.input, warmupMs: 60_000 }), /--warmup needs --from/));
  test('--baseline-version without --config', (t) =>
    refused(t, (s) => ({ rules: s.rules, input: s.input, baselineVersion: 2 }), /--baseline-version needs --config/));
  test("a span longer than the deployment's state retains", async (t) => {
    const s = await setup(t, 'sample-a');
    const config = join(s.dir, 'deployment.json');
    await writeFile(config, JSON.stringify({ source: { type: 'file', path: 'readings.ndjson' }, sink: { type: 'stdout' }, ...s.sample.rules }));
    const long = join(s.dir, 'long.json');
    await writeFile(long, JSON.stringify({ rules: [{ id: 'avg', type: 'window_avg', span: '10m' }] }));
    await refused(t, () => ({ rules: long, config }), /long\.json: \/rules\/0\/span: 10m needs 600 panes, window\.retain is 301/);
  });
});

test("with a deployment's config: its file source, and its rule set as the baseline unless told otherwise", async (t) => {
  const { dir, input, sample } = await setup(t, 'sample-v2');
  const config = join(dir, 'deployment.json');
  await writeFile(config, JSON.stringify({ source: { type: 'file', path: input }, sink: { type: 'stdout' }, ...sample.rules }));
  const v3 = join(dir, 'v3.json');
  const versions = sample.rules.versions as Array<{ rules: unknown[] }>;
  // Version 3 over the whole stream, as the candidate, against all of the deployment's versions by event time.
  await writeFile(v3, JSON.stringify({ rules: versions[2]?.rules }));
  const { candidate, report } = await run(dir, { rules: v3, config });
  assert.match(report.ruleSets.baseline?.label ?? '', /the deployment's rule set \(versions 1, 2, 3, each by event time; from the config\)/);
  const byTs = reference(sample.lines, { window: sample.rules.window, mode: sample.rules.mode, rules: versions[2]?.rules });
  assertSameAlerts(candidate, byTs, 'version 3 throughout');
  assert.equal(report.difference?.onlyCandidate !== 0, true);
  // One version of it as the baseline: its alerts keep the version's number.
  const one = await run(dir, { rules: v3, config, baselineVersion: 3 });
  assert.deepEqual(one.difference, [], 'version 3 against version 3: no difference');
  assert.ok(one.report.difference !== null && one.report.difference.both === byTs.length);
  await assert.rejects(
    () => backtest({ rules: v3, config, baselineVersion: 7, out: join(dir, 'out-7'), inProcess: true }),
    /--baseline-version 7: the deployment's rule set has no such version \(known: 1, 2, 3/,
  );
});
