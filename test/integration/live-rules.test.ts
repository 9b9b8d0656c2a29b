/**
 * Versions applied to a running engine through its rules file (a stdin-like
 * job fed through a pipe): `klaxon rules apply` adds each of sample-v2's
 * versions just before the readings of its time arrive, and the engine's
 * alerts are exactly the sample's. A version applied after readings of its
 * time were evaluated is counted late.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunningEngine } from '../../src/coordinator/engine.js';
import { setLogLevel } from '../../src/log.js';
import { klaxon } from '../helpers/cli.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { waitFor } from '../helpers/kafka.js';
import { pipedEngine } from '../helpers/piped-engine.js';
import { readNdjson, tempDir } from '../helpers/run-engine.js';
import { readSample } from '../helpers/samples.js';
import { splitByVersion } from '../helpers/versions.js';

setLogLevel('warn');

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('sample-v2 with its versions applied live through the rules file: exactly the sample, none late; a late version is counted', {
  timeout: 120_000,
}, async (t) => {
  const data = await readSample('sample-v2');
  const { window, mode, versions } = data.rules as { window: unknown; mode: string; versions: Array<{ version: number; effectiveFrom: number }> };
  const dir = await tempDir(t);
  const rulesFile = join(dir, 'rules.json');
  await writeFile(rulesFile, JSON.stringify({ versions: versions.slice(0, 1) }));
  // What `klaxon rules apply` reads: the job's window, mode and rules file.
  const jobConfig = join(dir, 'job.json');
  await writeFile(jobConfig, JSON.stringify({ source: { type: 'stdin' }, sink: { type: 'stdout' }, window, mode, rulesFile }));
  const engine = await pipedEngine(t, {
    engine: { workers: 2, batchSize: 200 },
    shadowSink: { type: 'file', path: 'shadow.ndjson' },
    window,
    mode,
    rulesFile,
    http: { port: 0 },
  });
  const { readings, pipeline, finished } = engine.start();
  const running = () => pipeline() as RunningEngine;
  const parts = splitByVersion(data.lines, versions);
  for (const [i, part] of parts.entries()) {
    const version = versions[i];
    if (i > 0 && version !== undefined) {
      const file = join(dir, `v${version.version}.json`);
      await writeFile(file, JSON.stringify(version));
      const applied = await klaxon(['rules', 'apply', '--config', jobConfig, '--rules', file]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stdout, new RegExp(`version ${version.version}, in force from`));
      assert.match(applied.stdout, /published to the rules file/);
      // The engine picks it up within a second, and queues it at its workers before the readings of its time.
      await waitFor(() => pipeline() !== undefined && running().rules.versions.length === i + 1, `version ${version.version} to reach the engine`, 5_000);
      await running().rules.settled();
    }
    readings.write(part.map((line) => `${line}\n`).join(''));
  }
  await waitFor(() => running().stats.records === data.lines.length, 'every reading to be read', 60_000);
  let metrics = '';
  await waitFor(
    async () => {
      metrics = await (await fetch(`${engine.observe.url}/metrics`)).text();
      return sample(metrics, 'klaxon_rules_version') === 3;
    },
    'the version in force to be 3',
    10_000,
  );
  assert.equal(sample(metrics, 'klaxon_rules_latest_version'), 3);
  assert.equal(sample(metrics, 'klaxon_rules_late_total'), 0);

  // A version the state cannot serve is refused before anything is published, saying why.
  const tooLong = join(dir, 'too-long.json');
  await writeFile(tooLong, JSON.stringify({ rules: [{ id: 'avg', type: 'window_avg', span: '10m' }] }));
  const refused = await klaxon(['rules', 'apply', '--config', jobConfig, '--rules', tooLong]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /too-long\.json: \/rules\/0\/span: 10m needs 600 panes, the state retains 301/);

  // A version whose effectiveFrom the stream has passed already: applied from the next reading, and counted.
  const lateFile = join(dir, 'late.json');
  await writeFile(lateFile, JSON.stringify({ rules: [{ id: 'hot', type: 'threshold', above: 95 }] }));
  const late = await klaxon(['rules', 'apply', '--config', jobConfig, '--rules', lateFile, '--effective-from', String((versions[2]?.effectiveFrom ?? 0) + 1)]);
  assert.equal(late.code, 0, late.stderr);
  await waitFor(
    async () => sample(await (await fetch(`${engine.observe.url}/metrics`)).text(), 'klaxon_rules_late_total') === 1,
    'the late version to be counted',
    10_000,
  );
  readings.end();
  await finished;
  const { sink, shadowSink } = engine.config;
  assert.ok(sink.type === 'file' && shadowSink?.type === 'file');
  const alerts = await readNdjson(sink.path);
  const shadow = await readNdjson(shadowSink.path);
  assertSameAlerts(
    alerts,
    data.alerts.filter((alert) => alert.shadow !== true),
    'live versions',
  );
  assertSameAlerts(
    shadow,
    data.alerts.filter((alert) => alert.shadow === true),
    'live versions, shadow',
  );
});
