import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureTopic } from '../../src/io/kafka/client.js';
import { klaxon } from '../helpers/cli.js';
import { BROKERS, freshTopic, kafka } from '../helpers/kafka.js';
import { tempDir } from '../helpers/run-engine.js';

const RULES = {
  window: { size: 50, pane: '1s' },
  rules: [
    { id: 'too-hot', type: 'threshold', above: 89 },
    { id: 'outlier', type: 'zscore', k: 3, minSamples: 5 },
  ],
};

test('run: a file job writes alerts and dead letters, paths relative to the config, exit 0', async (t) => {
  const dir = await tempDir(t);
  const lines = [
    '{"zone_id":"a","device_id":"d","temperature":70,"ts":1000}',
    'garbage',
    '{"zone_id":"a","device_id":"d","temperature":95,"ts":2000}',
    '{"zone_id":"a","device_id":"d","temperature":71,"ts":3000}',
  ];
  await writeFile(join(dir, 'in.ndjson'), `${lines.join('\n')}\n`);
  const config = {
    source: { type: 'file', path: 'in.ndjson' },
    sink: { type: 'file', path: 'out/alerts.ndjson' },
    deadLetter: { type: 'file', path: 'out/dead.ndjson' },
    ...RULES,
  };
  await writeFile(join(dir, 'klaxon.json'), JSON.stringify(config));
  const result = await klaxon(['run', '--config', join(dir, 'klaxon.json')], { cwd: '/' });
  assert.equal(result.code, 0, result.stderr);
  const alerts = (await readFile(join(dir, 'out/alerts.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    alerts.map((a) => `${a.alert_id}/${a.status}`),
    ['a:too-hot:2/firing', 'a:too-hot:3/resolved'],
  );
  const dead = JSON.parse((await readFile(join(dir, 'out/dead.ndjson'), 'utf8')).trim());
  assert.deepEqual(dead, { reason: 'not valid JSON', raw: 'garbage', source: { file: join(dir, 'in.ndjson'), line: 2 } });
  assert.match(result.stderr, /klaxon: 4 records \(3 accepted, 1 dead letter\), 2 alerts written \(1 firing, 1 resolved\), 1 zone, /);
});

test('run: stdin to stdout', async () => {
  const input = ['{"zone_id":"z","device_id":"d","temperature":100,"ts":1}', '{"zone_id":"z","device_id":"d","temperature":1,"ts":2}'].join('\n');
  const dir = '/tmp';
  const configPath = join(dir, `klaxon-stdin-${process.pid}.json`);
  await writeFile(configPath, JSON.stringify({ source: { type: 'stdin' }, sink: { type: 'stdout' }, deadLetter: { type: 'stdout' }, ...RULES }));
  const result = await klaxon(['run', '-c', configPath], { input });
  assert.equal(result.code, 0, result.stderr);
  const alerts = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    alerts.map((a) => `${a.alert_id}/${a.status}`),
    ['z:too-hot:1/firing', 'z:too-hot:2/resolved'],
  );
});

test('bad config: exit 2 and every problem named by its path', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'bad.json');
  await writeFile(
    path,
    JSON.stringify({ engine: { wrokers: 2 }, source: { type: 'file', path: 'x' }, sink: { type: 'stdout' }, rules: [{ id: 'a', type: 'zscore', k: 'big' }] }),
  );
  for (const command of ['run', 'validate']) {
    const result = await klaxon([command, '--config', path]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /\/engine\/wrokers: unknown key/);
    assert.match(result.stderr, /\/rules\/0\/k: must be number/);
  }
  await writeFile(
    path,
    JSON.stringify({ source: { type: 'stdin' }, sink: { type: 'stdout' }, window: { pane: '1s' }, rules: [{ id: 'w', type: 'window_avg', span: '2500ms' }] }),
  );
  const panes = await klaxon(['validate', '--config', path]);
  assert.equal(panes.code, 2);
  assert.match(panes.stderr, /\/rules\/0\/span: 2500ms is not a whole number of panes/);
  const missing = await klaxon(['run', '--config', join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the config file/);
});

test('usage errors exit 2; --help exits 0', async () => {
  assert.equal((await klaxon(['run'])).code, 2);
  assert.equal((await klaxon(['frobnicate'])).code, 2);
  const help = await klaxon(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /run \[options\]/);
});

test('runtime failure: a missing input file exits 1 with a message', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'c.json');
  await writeFile(
    path,
    JSON.stringify({
      source: { type: 'file', path: 'absent.ndjson' },
      sink: { type: 'file', path: 'a.ndjson' },
      deadLetter: { type: 'file', path: 'd.ndjson' },
      ...RULES,
    }),
  );
  const result = await klaxon(['run', '--config', path]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot read the input file .*absent\.ndjson/);
});

test('demo: generated plant to pretty alerts, bounded by --count', async (t) => {
  const dir = await tempDir(t);
  const result = await klaxon(['demo', '--count', '20000', '--rate', '0', '--zones', '50'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /FIRING/);
  assert.match(result.stderr, /20,000 records/);
  // The dashboard's address when it listens, and again at the end (on a terminal it also stays below the alerts).
  const url = /klaxon demo: live dashboard at (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(result.stderr)?.[1];
  assert.ok(url, result.stderr);
  assert.ok(result.stderr.endsWith(`klaxon demo: the live dashboard was at ${url}\n`), result.stderr);
});

test("produce --generate --out: generated readings into an NDJSON file, which the README's file job reads", async (t) => {
  const dir = await tempDir(t);
  const produced = await klaxon(['produce', '--generate', '3000', '--zones', '30', '--out', 'readings.ndjson'], { cwd: dir });
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stderr, /3,000 readings to readings\.ndjson/);
  const lines = (await readFile(join(dir, 'readings.ndjson'), 'utf8')).split('\n');
  assert.equal(lines.pop(), '', 'one reading a line, each ended by a newline');
  assert.equal(lines.length, 3000);
  for (const line of lines) {
    const reading = JSON.parse(line);
    assert.match(reading.zone_id, /^zone-([0-9]|[12][0-9])$/);
    assert.equal(typeof reading.temperature, 'number');
    assert.ok(Number.isInteger(reading.ts));
  }

  // The README's example config, as written there, run on that file.
  const readme = await readFile(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const example = /A file job, saved as `my\.config\.json`:\s*```json\n([\s\S]*?)```/.exec(readme);
  assert.ok(example, "the README's file job");
  await writeFile(join(dir, 'my.config.json'), example[1] as string);
  const run = await klaxon(['run', '--config', join(dir, 'my.config.json')], { cwd: '/' });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /3,000 records \(3,000 accepted, 0 dead letters\)/);
  assert.ok((await readFile(join(dir, 'alerts.ndjson'), 'utf8')).length > 0, 'the plant raises alerts');

  const misuse = await klaxon(['produce', '--file', 'readings.ndjson', '--out', 'copy.ndjson'], { cwd: dir });
  assert.equal(misuse.code, 2);
  assert.match(misuse.stderr, /--out FILE writes generated readings/);
});

test('validate: a good config says what it would run', async () => {
  const result = await klaxon(['validate', '--config', join(import.meta.dirname, '../../../cluster.config.json')]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /ok/);
});

test('schema: the published JSON Schema file is what `klaxon schema` prints', async () => {
  const result = await klaxon(['schema']);
  assert.equal(result.code, 0);
  const published = await readFile(join(import.meta.dirname, '../../../schema/cluster.config.schema.json'), 'utf8');
  assert.deepEqual(JSON.parse(published), JSON.parse(result.stdout), 'run `npm run schema` to refresh schema/');
});

test('topics create: says of each topic whether it created it, and the partitions the broker reports', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const suffix = randomUUID().slice(0, 8);
  const [readings, alerts] = [`readings-${suffix}`, `alerts-${suffix}`];
  t.after(async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [readings, alerts, `${readings}.rules`] }).catch(() => {});
    await admin.disconnect();
  });
  // The alerts topic is there already, with fewer partitions than the config asks for.
  await ensureTopic(kafka(), alerts, 2);
  const path = join(dir, 'topics.json');
  const config = {
    source: { type: 'kafka', brokers: BROKERS, topic: readings, groupId: 'g', partitions: 3 },
    sink: { type: 'kafka', brokers: BROKERS, topic: alerts, partitions: 6 },
    deadLetter: { type: 'file', path: 'dead.ndjson' },
    ...RULES,
  };
  await writeFile(path, JSON.stringify(config));
  const first = await klaxon(['topics', 'create', '--config', path]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(
    first.stdout,
    `${readings}: created, 3 partitions\n${alerts}: exists, 2 partitions (the config says 6; Klaxon does not change an existing topic)\n` +
      `${readings}.rules: the rules topic (compacted): created, 1 partition\n`,
  );
  const again = await klaxon(['topics', 'create', '--config', path]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`^${readings}: exists, 3 partitions\n`));
});

test('produce to Kafka: a summary with the count, the topic and the rate', { timeout: 60_000 }, async (t) => {
  const topic = await freshTopic(t, 'produce', 2);
  const result = await klaxon(['produce', '--brokers', BROKERS.join(','), '--topic', topic, '--generate', '1500', '--zones', '10']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`^klaxon produce: 1,500 readings to ${topic} in \\d+\\.\\d s \\([\\d,]+ readings/s\\)\n$`));
});
