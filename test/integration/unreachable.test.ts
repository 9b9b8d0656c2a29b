import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { klaxon } from '../helpers/cli.js';
import { BROKERS } from '../helpers/kafka.js';
import { tempDir } from '../helpers/run-engine.js';

/**
 * Kafka or Redis not there at start: the command stops within connectTimeout
 * (10 s unless configured) with exit code 1 and one line saying what could
 * not be reached, which config key or flag named it, and what to do; no
 * retry noise, no stack (that is for --log-level debug).
 */

const RULES = [{ id: 'too-hot', type: 'threshold', above: 89 }];
// Node's start, the config and the shutdown, on a busy two-core machine.
const SLACK_MS = 5_000;

/** A local port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function timed(args: string[]) {
  const started = performance.now();
  const result = await klaxon(args, { timeoutMs: 60_000 });
  return { ...result, ms: performance.now() - started };
}

/** The one log record on stderr (JSON: stderr is not a terminal here). */
function onlyRecord(stderr: string): { level: number; msg: string; cause?: string; err?: { stack?: string } } {
  const lines = stderr.split('\n').filter((line) => line.length > 0);
  assert.equal(lines.length, 1, `one line, not retry noise:\n${stderr}`);
  return JSON.parse(lines[0] as string);
}

async function kafkaConfig(dir: string, brokers: string, extra: Record<string, unknown> = {}): Promise<string> {
  const kafka = (topic: string) => ({ type: 'kafka', brokers, topic });
  const path = join(dir, 'kafka.json');
  const config = { source: { ...kafka('readings'), groupId: 'g' }, sink: kafka('alerts'), deadLetter: kafka('dead'), rules: RULES, ...extra };
  await writeFile(path, JSON.stringify(config));
  return path;
}

test('run: Kafka on a closed port is one sentence naming the brokers and the config keys, after the default 10 s', { timeout: 60_000 }, async (t) => {
  const port = await closedPort();
  const result = await timed(['run', '--config', await kafkaConfig(await tempDir(t), `127.0.0.1:${port}`)]);
  assert.equal(result.code, 1, result.stderr);
  assert.ok(result.ms >= 10_000 && result.ms < 10_000 + SLACK_MS, `waited ${Math.round(result.ms)} ms`);
  const record = onlyRecord(result.stderr);
  assert.equal(record.level, 60);
  assert.equal(
    record.msg,
    `cannot reach Kafka at 127.0.0.1:${port} (source.brokers, sink.brokers, deadLetter.brokers) within 10 s: ` +
      'start the local services with `npm run services:up`, or set KLAXON_KAFKA_BROKERS to your brokers',
  );
  assert.match(record.cause ?? '', /ECONNREFUSED/);
  assert.equal(record.err, undefined, 'no stack at the default level');
});

test('topics create: the config key connectTimeout bounds the wait; --log-level debug adds the stack', { timeout: 60_000 }, async (t) => {
  const port = await closedPort();
  const config = await kafkaConfig(await tempDir(t), `127.0.0.1:${port}`, { connectTimeout: '2s' });
  const result = await timed(['topics', 'create', '--config', config]);
  assert.equal(result.code, 1, result.stderr);
  assert.ok(result.ms < 2_000 + SLACK_MS, `waited ${Math.round(result.ms)} ms`);
  assert.match(onlyRecord(result.stderr).msg, /^cannot reach Kafka at 127\.0\.0\.1:\d+ \(source\.brokers, sink\.brokers, deadLetter\.brokers\) within 2 s: /);

  const debug = await timed(['topics', 'create', '--config', config, '--connect-timeout', '1s', '--log-level', 'debug']);
  assert.equal(debug.code, 1);
  const fatal = debug.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .find((record) => record.level === 60);
  assert.match(fatal?.msg ?? '', /within 1 s/, '--connect-timeout overrides the config');
  assert.match(fatal?.err?.stack ?? '', /UnreachableError/);
});

test('produce: --brokers on a closed port names the flag; --log-format pretty is one short line', { timeout: 60_000 }, async () => {
  const port = await closedPort();
  const result = await timed(['produce', '--brokers', `127.0.0.1:${port}`, '--generate', '10', '--connect-timeout', '2s', '--log-format', 'pretty']);
  assert.equal(result.code, 1, result.stderr);
  assert.ok(result.ms < 2_000 + SLACK_MS, `waited ${Math.round(result.ms)} ms`);
  assert.match(
    result.stderr,
    /^\[\d\d:\d\d:\d\d\] FATAL: cannot reach Kafka at 127\.0\.0\.1:\d+ \(--brokers\) within 2 s: start the local services with `npm run services:up`, or set KLAXON_KAFKA_BROKERS to your brokers .*ECONNREFUSED.*\n$/,
  );
});

test('run and state reset: Redis on a closed port is one sentence naming state.url', { timeout: 60_000 }, async (t) => {
  const port = await closedPort();
  const dir = await tempDir(t);
  const path = join(dir, 'redis.json');
  // Kafka is there (the source is checked first); file sinks, so nothing is created in it.
  const config = {
    source: { type: 'kafka', brokers: BROKERS, topic: 'readings', groupId: 'g' },
    sink: { type: 'file', path: 'alerts.ndjson' },
    deadLetter: { type: 'file', path: 'dead.ndjson' },
    state: { type: 'redis', url: `redis://127.0.0.1:${port}` },
    connectTimeout: '2s',
    rules: RULES,
  };
  await writeFile(path, JSON.stringify(config));
  for (const command of [['run'], ['state', 'reset']]) {
    const result = await timed([...command, '--config', path]);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.ms < 2_000 + SLACK_MS, `${command.join(' ')} waited ${Math.round(result.ms)} ms`);
    const record = onlyRecord(result.stderr);
    assert.equal(
      record.msg,
      `cannot reach Redis at redis://127.0.0.1:${port} (state.url) within 2 s: start the local services with \`npm run services:up\`, or set KLAXON_REDIS_URL to your Redis`,
    );
    assert.match(record.cause ?? '', /ECONNREFUSED/);
  }
});
