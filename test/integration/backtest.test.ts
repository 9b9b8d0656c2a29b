/**
 * `klaxon backtest` as an operator runs it: the CLI with worker threads on a
 * file, bad input answered with exit code 2 and the reason, and a topic on
 * the real broker read by record time (offsets for times on every
 * partition, a warm-up before --from) without touching the deployment: no
 * consumer group of its own joined or committed, no topic created, no
 * group of the backtest's left behind.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { Shard } from '../../src/engine/shard.js';
import { linesTask } from '../../src/protocol/messages.js';
import { klaxon } from '../helpers/cli.js';
import { assertSameAlerts } from '../helpers/compare.js';
import { BROKERS, freshGroup, freshTopic, kafka, produceLines, waitFor } from '../helpers/kafka.js';
import { rulesConfig, shardSetup } from '../helpers/rules.js';
import { parseNdjson, tempDir } from '../helpers/run-engine.js';
import { readSample } from '../helpers/samples.js';

/** What the engine raises for these lines, each alert with the index of the line that raised it. */
function alertsOf(lines: readonly string[], rules: Record<string, unknown>): Array<{ line: number; alert: Record<string, unknown> }> {
  const result = new Shard(shardSetup(rulesConfig(rules))).process(linesTask(lines));
  return result.alerts.map((a) => ({ line: a.record, alert: JSON.parse(a.text) as Record<string, unknown> }));
}

async function readAlerts(dir: string): Promise<Array<Record<string, unknown>>> {
  return parseNdjson(await readFile(join(dir, 'candidate-alerts.ndjson'), 'utf8'));
}

test('the CLI with worker threads: sample-v2 reproduced exactly, figures on stdout, reports written', { timeout: 60_000 }, async (t) => {
  const sample = await readSample('sample-v2');
  const dir = await tempDir(t);
  const input = join(dir, 'readings.ndjson');
  await writeFile(input, sample.lines.map((line) => `${line}\n`).join(''));
  const rules = join(dir, 'rules.json');
  await writeFile(rules, JSON.stringify(sample.rules));
  const out = join(dir, 'out');
  const run = await klaxon(['backtest', '--rules', rules, '--baseline', rules, '--input', input, '--out', out, '--workers', '3']);
  assert.equal(run.code, 0, run.stderr);
  assertSameAlerts(await readAlerts(out), sample.alerts, 'backtest CLI, 3 worker threads');
  assert.match(run.stdout, /30,000 records in [\d.]+ s/);
  assert.match(run.stdout, /too-hot: [\d,]+ firing, the same alerts under both/);
  assert.match(run.stdout, /outlier-preview \(shadow\): /);
  assert.match(
    run.stdout,
    new RegExp(`difference: 0 alerts only under the candidate, 0 only under the baseline, ${sample.alerts.length.toLocaleString('en-US')} in both`),
  );
  for (const file of ['report.md', 'report.html', 'summary.json', 'alerts-over-time.svg', 'difference.ndjson']) {
    assert.ok((await readFile(join(out, file), 'utf8')).length > 0 || file === 'difference.ndjson', file);
  }
});

describe('bad input: exit code 2 with the reason', () => {
  const refused = async (t: TestContext, args: (dir: string) => Promise<string[]>, reason: RegExp) => {
    const dir = await tempDir(t);
    const run = await klaxon(['backtest', ...(await args(dir)), '--out', join(dir, 'out')]);
    assert.equal(run.code, 2, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, reason);
  };
  test('an unreadable rules file', (t) => refused(t, async (dir) => ['--rules', join(dir, 'none.json'), '--input', dir], /none\.json: cannot read the rules/));
  test('an unreadable input file', async (t) => {
    await refused(
      t,
      async (dir) => {
        await writeFile(join(dir, 'rules.json'), JSON.stringify({ rules: [{ id: 'hot', type: 'threshold', above: 90 }] }));
        return ['--rules', join(dir, 'rules.json'), '--input', join(dir, 'none.ndjson')];
      },
      /cannot read the input file .*none\.ndjson \(ENOENT\)/,
    );
  });
  test('rules that fail validation', async (t) => {
    await refused(
      t,
      async (dir) => {
        await writeFile(join(dir, 'rules.json'), JSON.stringify({ rules: [{ id: 'hot', type: 'threshold', above: 90, clearAbove: 95 }] }));
        await writeFile(join(dir, 'in.ndjson'), '');
        return ['--rules', join(dir, 'rules.json'), '--input', join(dir, 'in.ndjson')];
      },
      /rules\.json: \/rules\/0\/clearAbove: must be at most "above" \(90\)/,
    );
  });
  test('a time that is not one', (t) =>
    refused(t, async (dir) => ['--rules', join(dir, 'r.json'), '--input', dir, '--from', 'yesterday'], /--from yesterday: expected now, -SPAN/));
});

describe('from a topic, by record time, leaving the deployment as it was', () => {
  test('offsets for times on every partition; a warm-up before --from; a topic missing or times outside what it retains: exit 2', {
    timeout: 180_000,
  }, async (t) => {
    const sample = await readSample('sample-a');
    const readings = await freshTopic(t, 'readings', 6);
    const half = sample.lines.length / 2;
    const [first, second] = [sample.lines.slice(0, half), sample.lines.slice(half)];
    await produceLines(readings, first);
    // Every record of the first half is stamped before `marker`, every one of the second after it.
    const marker = Date.now() + 1;
    await waitFor(() => Date.now() > marker, 'the clock to pass the marker', 1_000);
    await produceLines(readings, second);

    const dir = await tempDir(t);
    const groupId = freshGroup();
    const config = join(dir, 'deployment.json');
    await writeFile(
      config,
      JSON.stringify({
        source: { type: 'kafka', brokers: BROKERS, topic: readings, groupId },
        sink: { type: 'kafka', brokers: BROKERS, topic: `${readings}-alerts` },
        ...sample.rules,
      }),
    );
    const admin = kafka().admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const backtest = async (name: string, ...args: string[]) => {
      const out = join(dir, name);
      const run = await klaxon(['backtest', '--rules', join(dir, 'rules.json'), '--config', config, '--out', out, ...args]);
      return { ...run, out };
    };
    await writeFile(join(dir, 'rules.json'), JSON.stringify(sample.rules));

    // The whole topic: the sample exactly (the deployment's rule set, from its config, as the baseline: no difference).
    const whole = await backtest('whole');
    assert.equal(whole.code, 0, whole.stderr);
    assertSameAlerts(await readAlerts(whole.out), sample.alerts, 'the whole topic');
    assert.match(whole.stdout, /against the deployment's rule set \(version 1; from the config; its rules topic \S+ does not exist\)/);
    assert.match(whole.stdout, /difference: 0 alerts only under the candidate, 0 only under the baseline/);

    const everything = alertsOf(sample.lines, sample.rules);
    // From the marker with the first half as warm-up: the second half's alerts, as in the whole run.
    const warmed = await backtest('warmed', '--from', String(marker), '--warmup', '1h');
    assert.equal(warmed.code, 0, warmed.stderr);
    assertSameAlerts(
      await readAlerts(warmed.out),
      everything.filter((a) => a.line >= half).map((a) => a.alert),
      'the second half, warmed up with the first',
    );
    const summary = JSON.parse(await readFile(join(warmed.out, 'summary.json'), 'utf8'));
    assert.equal(summary.readings.read, sample.lines.length);
    assert.match(summary.input, /30,000 records, the first 15,000 of them warm-up/);
    // From the marker without a warm-up: the second half alone, its statistics from nothing.
    const cold = await backtest('cold', '--from', String(marker));
    assert.equal(cold.code, 0, cold.stderr);
    assertSameAlerts(
      await readAlerts(cold.out),
      alertsOf(second, sample.rules).map((a) => a.alert),
      'the second half alone',
    );
    // Up to the marker: the first half.
    const early = await backtest('early', '--to', String(marker));
    assert.equal(early.code, 0, early.stderr);
    assertSameAlerts(
      await readAlerts(early.out),
      everything.filter((a) => a.line < half).map((a) => a.alert),
      'the first half',
    );

    const missing = `missing-${groupId}`;
    const noTopic = await backtest('missing', '--topic', missing);
    assert.equal(noTopic.code, 2, noTopic.stderr);
    assert.match(noTopic.stderr, new RegExp(`topic ${missing} does not exist on ${BROKERS.join(',')}`));
    const tooEarly = await backtest('too-early', '--from', '-30d');
    assert.equal(tooEarly.code, 2, tooEarly.stderr);
    assert.match(tooEarly.stderr, /--from \S+ is before the oldest record of topic \S+ on \S+: it retains records from \S+ to \S+ \(by record time\)/);
    const tooLate = await backtest('too-late', '--from', String(Date.now() + 60_000));
    assert.equal(tooLate.code, 2, tooLate.stderr);
    assert.match(tooLate.stderr, /is after the newest record of topic/);

    // Nothing of the deployment's: no group joined (let alone committed), no topic created (not even the missing one).
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    assert.ok(!groups.includes(groupId), "the deployment's consumer group was never joined");
    assert.deepEqual(
      groups.filter((g) => g.startsWith('klaxon-backtest-')),
      [],
      "the backtest's own groups are deleted",
    );
    const topics = await admin.listTopics();
    for (const topic of [`${readings}.rules`, `${readings}-alerts`, missing]) assert.ok(!topics.includes(topic), `no topic created: ${topic}`);
  });
});
