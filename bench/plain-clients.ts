/**
 * Fetch and decode cost of Kafka clients on the same backlog: kafkajs (the
 * engine's), @platformatic/kafka, and librdkafka through node-rdkafka when it
 * is installed (bench/rdkafka-consumer.ts), each as a consumer-group member
 * that only counts records, with the engine's fetch sizes, in turns (kafkajs,
 * platformatic, rdkafka, kafkajs, …) so that a busy moment on the shared
 * machine does not favour one. CPU is this process's (user + system, every
 * thread: librdkafka's own threads included) from the consumer's start to its
 * last record, per record.
 *
 *   node dist/bench/plain-clients.js [--readings 3000000] [--zones 10000] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import { createKafka } from '../src/io/kafka/client.js';
import { environment, runBench, startServices, table, writeResult } from './environment.js';
import { plainConsume, plainConsumePlatformatic, produceBacklog, settle, type Timing } from './kafka-backlog.js';
import { benchPlant, readingTs } from './make-stream.js';
import { loadRdkafka, plainConsumeRdkafka } from './rdkafka-consumer.js';
import { BenchResources } from './resources.js';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '3000000' },
    zones: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '6' },
  },
});
const readings = Number(values.readings);
const zones = Number(values.zones);
const partitions = Number(values.partitions);

const { brokers, redisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const resources = new BenchResources(kafka, redisUrl, log);

await runBench('plain clients bench', main, () => resources.cleanup());

async function main(): Promise<void> {
  const topic = resources.topic('readings');
  const plant = benchPlant({ zones, seed: 7 });
  await produceBacklog(brokers, topic, partitions, readings, (i) => plant.next(readingTs(i, zones)).line);
  const rdkafka = await loadRdkafka();
  if (typeof rdkafka === 'string') log(`librdkafka left out: ${rdkafka}`);
  const runs: Array<{ client: string; round: number } & Timing> = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    await settle();
    runs.push({ client: 'kafkajs', round, ...(await plainConsume(kafka, topic, `${resources.tag}-kafkajs-${round}`, readings, `kafkajs ${round}`, log)) });
    await settle();
    const klaxonGroup = `${resources.tag}-kafkajs-klaxon-${round}`;
    runs.push({
      client: "kafkajs, Klaxon's record decoder",
      round,
      ...(await plainConsume(kafka, topic, klaxonGroup, readings, `kafkajs + Klaxon's decoder ${round}`, log, 'klaxon')),
    });
    await settle();
    const group = `${resources.tag}-platformatic-${round}`;
    runs.push({
      client: '@platformatic/kafka',
      round,
      ...(await plainConsumePlatformatic({ brokers, topic, groupId: group, total: readings, label: `platformatic ${round}`, log })),
    });
    if (typeof rdkafka !== 'string') {
      await settle();
      const rdGroup = `${resources.tag}-rdkafka-${round}`;
      runs.push({
        client: 'node-rdkafka (librdkafka)',
        round,
        ...(await plainConsumeRdkafka(rdkafka, { brokers, topic, groupId: rdGroup, total: readings, label: `rdkafka ${round}`, log })),
      });
    }
  }
  const rows = runs.map((r) => ({
    client: r.client,
    round: r.round,
    'records/s': r.readingsPerSecond.toLocaleString('en-US'),
    'CPU µs/record': ((r.cpuNsPerRecord ?? 0) / 1000).toFixed(2),
    'seconds (first→last)': r.seconds.toFixed(2),
  }));
  const markdown = `# Plain consumers: kafkajs against @platformatic/kafka${typeof rdkafka === 'string' ? '' : ' and librdkafka'}

${readings.toLocaleString('en-US')} readings (${zones.toLocaleString('en-US')} zones, ~90 bytes each, uncompressed) in a ${partitions}-partition topic on the local broker; each client a consumer-group member that counts records and nothing else, fetch sizes as the engine's (4 MiB per partition), in turns. CPU: the bench process's, every thread, start to last record, per record (the client's fetch, decode and its garbage; the counting is nothing).${typeof rdkafka === 'string' ? '' : ' node-rdkafka takes records 10,000 per call (its batch consume); it is not a dependency of the project, installed for this run with `npm install --no-save node-rdkafka`.'}

${table(rows)}

Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
  writeResult('plain-clients', { environment: environment(), settings: { readings, zones, partitions }, runs }, markdown);
  process.stdout.write(`${markdown}\n`);
}

function log(line: string): void {
  process.stderr.write(`[bench clients] ${line}\n`);
}
