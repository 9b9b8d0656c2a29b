import type { ConsumerConfig, ProducerConfig } from 'kafkajs';

/**
 * How Klaxon's Kafka clients are configured, in one place.
 *
 * The engine's consumer, before the source's fetch settings (consumerSettings);
 * the benchmark's plain consumer uses these as they are.
 * kafkajs decodes a whole fetch on the coordinator thread before handing
 * anything on, which leaves the workers idle meanwhile; smaller fetches
 * (2 MiB) were measured slower overall, so fetches stay large.
 */
export const CONSUMER_SETTINGS = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 20_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 100,
  maxBytesPerPartition: 4 << 20,
  retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 50 },
} as const satisfies Omit<ConsumerConfig, 'groupId'>;

/**
 * The engine's consumer with the source's fetch settings (`fetchMinBytes`,
 * `fetchMaxWait`, by default 64 KiB or 10 ms): how long the broker may hold a
 * fetch to make it larger. Each fetch costs the coordinator a request, a
 * decode, and a task per worker and partition whatever it holds: at 50k
 * readings/s, fetches answered at once carried ~33 records a partition and
 * the engine took 99% of a core; held for 64 KiB or 10 ms, 74%, and the
 * end-to-end p99 fell from 82 to 50 ms (at 10k/s: 100 → 36 ms), one run,
 * bench/results/latency-fetch.md.
 */
export function consumerSettings(fetch: { fetchMinBytes: number; fetchMaxWaitMs: number }): Omit<ConsumerConfig, 'groupId'> {
  return { ...CONSUMER_SETTINGS, minBytes: fetch.fetchMinBytes, maxWaitTimeInMs: fetch.fetchMaxWaitMs };
}

/**
 * Every producer Klaxon writes with (alerts, dead letters, readings):
 * idempotent, one request in flight (so each partition keeps send order even
 * across retries), no topic auto-creation, and retries without end: a broker
 * outage is backpressure, not loss.
 */
export function producerSettings(): ProducerConfig {
  return {
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
}

/**
 * The exactly-once producer: transactional, with a transaction timeout
 * (default 30 s, shorter than the broker's one minute) so a crashed instance's
 * open transaction cannot hold readers back long, and a short first retry:
 * right after a commit the broker refuses the next transaction's first send
 * (CONCURRENT_TRANSACTIONS) for a few ms, and kafkajs's 200 ms default held
 * alerts back that long (measured).
 */
export function transactionalSettings(transactionalId: string, transactionTimeoutMs: number): ProducerConfig {
  // Retries are bounded here, unlike the other producers': a transaction that cannot go on is given up and its
  // partition recovered (io/kafka/transactions.ts), rather than held open by a request retrying forever.
  return {
    ...producerSettings(),
    transactionalId,
    transactionTimeout: transactionTimeoutMs,
    retry: { retries: 8, initialRetryTime: 10, maxRetryTime: 2_000 },
  };
}
