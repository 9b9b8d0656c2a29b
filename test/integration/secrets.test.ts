/**
 * Credentials stay out of everything an engine says: a Redis password in
 * state.url never appears in a log line, an error message or a stack (the
 * engine, `state inspect`, `state reset`), and a wrong password is reported
 * as such, at once, not as a closed connection.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { klaxon } from '../helpers/cli.js';
import { BROKERS } from '../helpers/kafka.js';
import { privateRedis } from '../helpers/private-services.js';
import { tempDir } from '../helpers/run-engine.js';

const SECRET = 's3cr3t-do-not-print';

/** `target`: state.url, or the nodes of state.cluster. */
async function configWithRedis(dir: string, target: string | string[]): Promise<string> {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(
    path,
    JSON.stringify({
      connectTimeout: '2s',
      source: { type: 'kafka', brokers: BROKERS, topic: 'secrets-readings', groupId: 'secrets' },
      sink: { type: 'stdout' },
      state: { type: 'redis', ...(typeof target === 'string' ? { url: target } : { cluster: target }), prefix: 'secrets' },
      rules: [{ id: 'hot', type: 'threshold', above: 90 }],
    }),
  );
  return path;
}

/** run, state inspect and state reset against an unreachable store: each exits 1, never prints the password, and shows where it went, masked. */
async function assertPasswordNeverShown(config: string, shown: RegExp): Promise<void> {
  for (const args of [
    ['run', '--config', config],
    ['state', 'inspect', 'zone-1', '--config', config],
    ['state', 'reset', '--config', config],
  ]) {
    const result = await klaxon([...args, '--log-level', 'debug'], { timeoutMs: 30_000 });
    assert.equal(result.code, 1, `${args[0]} ${args[1]}: exit 1; ${result.stderr}`);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(SECRET), `${args.join(' ')} printed the password: ${result.stderr}`);
    assert.match(result.stderr, shown, `${args[0]}: the address is shown, with its password masked; ${result.stderr}`);
  }
}

test('a Redis password never appears when Redis is down: run, state inspect, state reset', async (t) => {
  const dir = await tempDir(t);
  // A port nothing listens on.
  const config = await configWithRedis(dir, `redis://:${SECRET}@127.0.0.1:1`);
  await assertPasswordNeverShown(config, /\*\*\*\*@127\.0\.0\.1:1/);
});

test('a Redis Cluster password never appears when the cluster is down: run, state inspect, state reset', async (t) => {
  const dir = await tempDir(t);
  const config = await configWithRedis(dir, [`redis://:${SECRET}@127.0.0.1:1`, '127.0.0.1:2']);
  await assertPasswordNeverShown(config, /cannot reach Redis Cluster at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1, 127\.0\.0\.1:2 \(state\.cluster\)/);
});

test('a wrong Redis password is reported as refused credentials, at once, without the password', async (t) => {
  const redis = await privateRedis(t, { password: 'the-right-one' });
  const dir = await tempDir(t);
  const config = await configWithRedis(dir, redis.url.replace('the-right-one', SECRET));
  const started = performance.now();
  const result = await klaxon(['state', 'reset', '--config', config, '--log-level', 'debug'], { timeoutMs: 30_000 });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /refused the credentials in state\.url/);
  assert.doesNotMatch(result.stderr, /Connection is closed/);
  assert.ok(!result.stderr.includes(SECRET), result.stderr);
  assert.ok(seconds < 10, `reported without waiting out the connect timeout: ${seconds.toFixed(1)} s`);
  // With the right password the same command works.
  const right = await klaxon(['state', 'reset', '--config', await configWithRedis(dir, redis.url)], { timeoutMs: 30_000 });
  assert.equal(right.code, 0, right.stderr);
  assert.ok(!`${right.stdout}${right.stderr}`.includes('the-right-one'), right.stdout);
});
