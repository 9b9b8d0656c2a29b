import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../errors.js';
import { FileSink } from '../io/file/file-sink.js';
import { Plant } from '../io/generator/readings.js';
import { ReadingsProducer } from '../io/kafka/readings-producer.js';
import { LineBatcher } from '../io/line-batcher.js';

export interface ProduceOptions {
  brokers: string;
  topic: string;
  partitions: number;
  file?: string;
  generate?: number;
  /** Write the generated readings to this NDJSON file instead of Kafka. */
  out?: string;
  zones: number;
  rate: number;
  seed: number;
  batch: number;
}

/** Where produced readings go: the readings topic, or an NDJSON file. */
interface Target {
  name: string;
  send(values: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * `klaxon produce`: an NDJSON file or generated readings into the readings
 * topic, keyed by zone_id, as fast as possible or at a fixed rate (open loop:
 * the schedule does not wait for a slow broker; it reports when it falls behind).
 * With `out`, generated readings go to an NDJSON file instead, one a line.
 */
export async function produceCommand(options: ProduceOptions): Promise<void> {
  if ((options.file === undefined) === (options.generate === undefined)) {
    throw new UsageError('give exactly one of --file FILE or --generate COUNT');
  }
  if (options.out !== undefined && options.generate === undefined) {
    throw new UsageError('--out FILE writes generated readings: use it with --generate COUNT');
  }
  const target = options.out === undefined ? await kafkaTarget(options) : await fileTarget(options.out);
  const started = performance.now();
  let sent = 0;
  try {
    for await (const values of batches(options)) {
      if (options.rate > 0) {
        const dueAt = (sent / options.rate) * 1000;
        const wait = dueAt - (performance.now() - started);
        if (wait > 0) await sleep(wait);
      }
      await target.send(values);
      sent += values.length;
    }
  } finally {
    await target.close();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`klaxon produce: ${sent} readings to ${target.name} in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s)\n`);
}

async function kafkaTarget(options: ProduceOptions): Promise<Target> {
  const producer = await ReadingsProducer.connect(options.brokers.split(','), options.topic, options.partitions);
  return { name: options.topic, send: (values) => producer.send(values.map((value) => ({ value }))), close: () => producer.close() };
}

async function fileTarget(path: string): Promise<Target> {
  const sink = await FileSink.open(resolve(path));
  return {
    name: path,
    send: (values) => {
      sink.write(values.map((value) => ({ key: '', value: value.toString('utf8') })));
      return sink.ready();
    },
    close: () => sink.close(),
  };
}

async function* batches(options: ProduceOptions): AsyncGenerator<Buffer[]> {
  if (options.file !== undefined) {
    const lines = new LineBatcher(createReadStream(options.file, { highWaterMark: 1 << 20 }), options.batch, (line) => ({
      file: options.file as string,
      line,
    }));
    for (let batch = await lines.next(); batch !== null; batch = await lines.next()) yield [...batch.values];
    return;
  }
  const plant = new Plant({ zones: options.zones, devicesPerZone: 4, seed: options.seed, spikeRate: 0.002, heatWaveRate: 0.0003, badRate: 0 });
  const total = options.generate as number;
  for (let start = 0; start < total; start += options.batch) {
    const values: Buffer[] = [];
    for (let i = start; i < Math.min(total, start + options.batch); i++) values.push(Buffer.from(plant.next(Date.now()).line));
    yield values;
  }
}
