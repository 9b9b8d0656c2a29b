/**
 * A Kafka broker and a Redis of a test's own, started by the same
 * services/up.sh on free ports with their own data (sharing the shared
 * broker's jars), so that a fault test can pause, stop and restart them
 * without touching the services every other test uses. Stopped and deleted
 * after the test.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const SERVICES = resolve(import.meta.dirname, '../../../services');
const SHARED_STATE = process.env.KLAXON_SERVICES_STATE_DIR ?? resolve(SERVICES, '../.services');

export interface PrivateServices {
  brokers: string[];
  redisUrl: string;
  /** SIGSTOP / SIGCONT the broker's JVM: connections stay open, nothing answers. */
  pauseKafka(): Promise<void>;
  resumeKafka(): Promise<void>;
  stopKafka(): Promise<void>;
  startKafka(): Promise<void>;
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
}

export async function privateServices(t: TestContext): Promise<PrivateServices> {
  // Not tempDir(t): its clean-up ran first (after-hooks run in the order they were added) and took the pid files
  // with it, so down.sh found nothing to stop and each run of the outage tests left a redis-server behind.
  const stateDir = await mkdtemp(join(tmpdir(), 'klaxon-test-'));
  const [kafkaPort, controllerPort, redisPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    KLAXON_SERVICES_STATE_DIR: stateDir,
    KLAXON_KAFKA_PORT: String(kafkaPort),
    KLAXON_KAFKA_CONTROLLER_PORT: String(controllerPort),
    KLAXON_REDIS_PORT: String(redisPort),
    KLAXON_KAFKA_LIBS: join(SHARED_STATE, 'kafka', 'libs'),
  };
  const script = (name: string, ...args: string[]) => run('bash', [join(SERVICES, name), ...args], { env, timeout: 180_000 });
  const signal = async (which: 'kafka' | 'redis', sig: NodeJS.Signals) => {
    const pid = Number((await readFile(join(stateDir, which, `${which}.pid`), 'utf8')).trim());
    process.kill(pid, sig);
  };
  await script('up.sh');
  t.after(async () => {
    await signal('kafka', 'SIGCONT').catch(() => {});
    await script('down.sh', '--clean').catch(() => {});
    await rm(stateDir, { recursive: true, force: true });
  });
  return {
    brokers: [`127.0.0.1:${kafkaPort}`],
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    pauseKafka: () => signal('kafka', 'SIGSTOP'),
    resumeKafka: () => signal('kafka', 'SIGCONT'),
    stopKafka: async () => void (await script('down.sh', '--kafka-only')),
    startKafka: async () => void (await script('up.sh')),
    stopRedis: async () => void (await script('down.sh', '--redis-only')),
    startRedis: async () => void (await script('up.sh')),
  };
}

export interface PrivateRedis {
  url: string;
  /** Shuts it down without saving and starts it again on the same port: a Redis that lost everything. */
  restartEmpty(): Promise<void>;
}

/** A redis-server of the test's own (no persistence), for tests that stop or empty it, or need a password. */
export async function privateRedis(t: TestContext, options: { password?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const auth = options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning'];
  const start = async () => {
    const password = options.password === undefined ? [] : ['--requirepass', options.password];
    await run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', ...password]);
    await waitUntil(async () => (await run('redis-cli', ['-p', String(port), ...auth, 'ping']).catch(() => ({ stdout: '' }))).stdout.includes('PONG'));
  };
  const shutdown = () => run('redis-cli', ['-p', String(port), ...auth, 'shutdown', 'nosave']).catch(() => {});
  await start();
  t.after(shutdown);
  return {
    url: options.password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${options.password}@127.0.0.1:${port}`,
    restartEmpty: async () => {
      await shutdown();
      await start();
    },
  };
}

async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('redis-server did not answer within 10 s');
}
