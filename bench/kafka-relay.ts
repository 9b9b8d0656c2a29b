/**
 * The latency floor of a Kafka-in, Kafka-out alerting consumer on kafkajs:
 * the least such a consumer can do. It reads the engine's config (brokers,
 * topics, group, the source's fetch settings, which its consumer uses as the
 * engine's does) and, for every reading over 89 °C, sends a firing `too-hot`
 * alert at once: no state, no workers, no linger, one send in flight at a
 * time with acks from all replicas (as Klaxon's sink). The latency bench runs
 * it in the engine's place (`--builds kafkajs-relay,.`), so both are measured
 * on the same load, broker and cores.
 *
 *   node dist/bench/kafka-relay.js --config engine.config.json
 *
 * It logs "engine started" once its group has joined (what the bench waits
 * for), and stops on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../src/config/load.js';
import { createKafka } from '../src/io/kafka/client.js';
import { consumerSettings, producerSettings } from '../src/io/kafka/options.js';

const { values } = parseArgs({ options: { config: { type: 'string' } } });
if (values.config === undefined) throw new Error('--config is required');
const config = loadConfigFile(values.config);
const { source, sink } = config;
if (source.type !== 'kafka' || sink.type !== 'kafka') throw new Error('the relay reads and writes Kafka: source and sink must be kafka');
const alertsTopic = sink.topic;

const kafka = createKafka(source.brokers, 'klaxon-relay');
const consumer = kafka.consumer({ groupId: source.groupId, ...consumerSettings(source) });
const producer = kafka.producer(producerSettings());
let sent = 0;
let read = 0;
/**
 * One send at a time, like Klaxon's sink without linger: alerts found while
 * a send is out go together in the next one, as soon as it is back.
 */
let waiting: Array<{ key: string; value: string }> = [];
let sending: Promise<void> | undefined;

function send(): void {
  if (sending !== undefined || waiting.length === 0) return;
  const messages = waiting;
  waiting = [];
  sending = producer.send({ topic: alertsTopic, acks: -1, messages }).then(() => {
    sending = undefined;
    send();
  });
}

await Promise.all([consumer.connect(), producer.connect()]);
consumer.on(consumer.events.GROUP_JOIN, () => process.stderr.write(`${JSON.stringify({ msg: 'engine started' })}\n`));
await consumer.subscribe({ topic: source.topic, fromBeginning: true });
await consumer.run({
  autoCommit: true,
  eachBatch: async ({ batch }) => {
    for (const message of batch.messages) {
      read++;
      const reading = JSON.parse(message.value?.toString() ?? '{}') as { zone_id?: string; temperature?: number; ts?: number };
      if (reading.temperature === undefined || reading.temperature <= 89 || reading.zone_id === undefined) continue;
      const alert = { alert_id: `${batch.partition}-${message.offset}`, rule: 'too-hot', status: 'firing', zone_id: reading.zone_id, ts: reading.ts };
      waiting.push({ key: reading.zone_id, value: JSON.stringify(alert) });
      sent++;
    }
    send();
  },
});

process.once('SIGTERM', async () => {
  while (sending !== undefined) await sending;
  await consumer.disconnect();
  await producer.disconnect();
  process.stderr.write(`relay: ${read} records read, ${sent} alerts sent\n`);
  process.exit(0);
});
