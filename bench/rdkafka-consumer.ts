/**
 * A plain consumer on librdkafka (node-rdkafka), for the plain-clients bench
 * only: what a native client's fetch and decode would cost per record on the
 * same backlog as kafkajs. node-rdkafka is not a dependency of the project
 * (it compiles librdkafka at install, ~2 minutes here, and the engine does
 * not use it); the bench loads it when present:
 *
 *   npm install --no-save node-rdkafka   (with Node's headers: npm_config_nodedir=/usr where they live there)
 */
import { CONSUMER_SETTINGS } from '../src/io/kafka/options.js';
import { cpuNs, type PlainRun, type Timing, timing, watchCount } from './kafka-backlog.js';

/** The part of node-rdkafka's KafkaConsumer this probe uses (its own types come only with the package). */
interface NativeConsumer {
  connect(options: object, done: (error: Error | null) => void): void;
  subscribe(topics: string[]): void;
  consume(count: number, done: (error: Error | null, messages: unknown[]) => void): void;
  disconnect(done: () => void): void;
}
type NativeConsumerClass = new (global: Record<string, unknown>, topic: Record<string, unknown>) => NativeConsumer;

/** node-rdkafka's consumer class, or why it cannot be had. */
export async function loadRdkafka(): Promise<NativeConsumerClass | string> {
  const name = 'node-rdkafka';
  try {
    const module = (await import(name)) as { KafkaConsumer?: NativeConsumerClass; default?: { KafkaConsumer?: NativeConsumerClass } };
    const consumer = module.KafkaConsumer ?? module.default?.KafkaConsumer;
    return consumer ?? 'node-rdkafka has no KafkaConsumer';
  } catch (error) {
    return `node-rdkafka is not installed (npm install --no-save node-rdkafka): ${(error as Error).message.split('\n')[0]}`;
  }
}

/**
 * Counts a topic's records as a group member, fetching as much per partition
 * as the engine does and taking them in batches of 10,000 (node-rdkafka's
 * batch consume: one call into native code per batch, not one per record).
 */
export async function plainConsumeRdkafka(KafkaConsumer: NativeConsumerClass, { brokers, topic, groupId, total, label, log }: PlainRun): Promise<Timing> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const consumer = new KafkaConsumer(
    {
      'group.id': groupId,
      'metadata.broker.list': brokers.join(','),
      'enable.auto.commit': false,
      'session.timeout.ms': CONSUMER_SETTINGS.sessionTimeout,
      'fetch.wait.max.ms': CONSUMER_SETTINGS.maxWaitTimeInMs,
      'max.partition.fetch.bytes': CONSUMER_SETTINGS.maxBytesPerPartition,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (error) => (error ? reject(error) : resolve())));
  consumer.subscribe([topic]);
  let count = 0;
  let stopped = false;
  const pull = (): void => {
    if (stopped) return;
    consumer.consume(10_000, (error, messages) => {
      if (error) log(`${label}: ${error.message}`);
      count += messages?.length ?? 0;
      setImmediate(pull);
    });
  };
  pull();
  try {
    const result = { ...timing(started, await watchCount({ label, total, count: () => count, log }), total), cpuNsPerRecord: cpuNs(cpu, total) };
    log(`${label}: ${result.readingsPerSecond.toLocaleString('en-US')} readings/s, ${result.cpuNsPerRecord} ns of CPU per record`);
    return result;
  } finally {
    stopped = true;
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
