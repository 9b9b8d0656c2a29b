import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry } from 'kafkajs';
import { UnreachableError } from '../../errors.js';
import { logger } from '../../log.js';
import { Kafka, logLevel } from './kafkajs.js';

const log = logger('kafka');
// Between two tries: a broker that is starting is found within a quarter of a second of listening.
const PAUSE_MS = 250;
// A silent host (packets dropped) costs at most this per try, so several tries fit in the timeout.
const MAX_TRY_MS = 3_000;

/**
 * Waits until Kafka at `brokers` answers a metadata request, for at most
 * `timeoutMs`; then throws UnreachableError naming the brokers and `namedBy`
 * (where they came from). Every try is a fresh client without retries, so a
 * closed port is answered within the timeout and says so in one line:
 * through the engine's own clients, kafkajs retried for about 80 s and
 * logged 42 connection errors first (measured). Those clients keep their
 * patient retries for a broker that goes away after a successful start.
 */
export async function waitForKafka(brokers: readonly string[], namedBy: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    try {
      await metadata(brokers, Math.max(1, Math.min(left, MAX_TRY_MS)));
      return;
    } catch (error) {
      lastError = error;
      log.debug({ err: error, brokers, attempt }, 'Kafka did not answer');
    }
    await sleep(Math.max(0, Math.min(PAUSE_MS, deadline - performance.now())));
  }
  throw new UnreachableError('Kafka', brokers.join(','), namedBy, timeoutMs, { cause: lastError });
}

/** One metadata request through a client that neither retries nor logs above debug. */
async function metadata(brokers: readonly string[], budgetMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'klaxon-probe',
    brokers: [...brokers],
    connectionTimeout: budgetMs,
    requestTimeout: budgetMs,
    retry: { retries: 0 },
    logLevel: logLevel.ERROR,
    logCreator: () => (entry: LogEntry) => log.debug({ namespace: entry.namespace }, entry.log.message),
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
