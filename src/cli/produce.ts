import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../errors.js';
import { FileSink } from '../io/file/file-sink.js';
import { Plant } from '../io/generator/readings.js';
import { waitForKafka } from '../io/kafka/reachable.js';
import { ReadingsProducer } from '../io/kafka/readings-producer.js';
import { LineBatcher } from '../io/line-batcher.js';
import { terminal } from '../terminal.js';
import { counted, formatCount } from './wording.js';

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
  /** How long to wait for Kafka at start (ms). */
  connectTimeout: number;
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
  const input = readingsOf(options);
  let sent = 0;
  const stopProgress = showProduceProgress(() => ({ sent, remaining: input.remaining(sent) }));
  try {
    for await (const values of input.batches) {
      if (options.rate > 0) {
        const dueAt = (sent / options.rate) * 1000;
        const wait = dueAt - (performance.now() - started);
        if (wait > 0) await sleep(wait);
      }
      await target.send(values);
      sent += values.length;
    }
  } finally {
    stopProgress();
    await target.close();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(
    `klaxon produce: ${counted(sent, 'reading')} to ${target.name} in ${seconds.toFixed(1)} s (${formatCount(sent / Math.max(seconds, 1e-3))} readings/s)\n`,
  );
}

/** What is left to send: a count (generated readings) or a share of the file read so far. */
type Remaining = { readings: number } | { fileShare: number } | undefined;

/** On a terminal, a status line each second: rate, sent, and what remains. */
function showProduceProgress(read: () => { sent: number; remaining: Remaining }, intervalMs = 1_000): () => void {
  if (!process.stderr.isTTY) return () => {};
  let last = { sent: 0, at: performance.now() };
  const timer = setInterval(() => {
    const now = performance.now();
    const { sent, remaining } = read();
    const rate = ((sent - last.sent) * 1000) / (now - last.at);
    last = { sent, at: now };
    terminal.set([produceLine(rate, sent, remaining)]);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    terminal.clear();
  };
}

export function produceLine(rate: number, sent: number, remaining: Remaining): string {
  const left =
    remaining === undefined
      ? []
      : 'readings' in remaining
        ? [`${formatCount(remaining.readings)} to go`]
        : [`${Math.floor(remaining.fileShare * 100)}% of the file read`];
  return [`${formatCount(rate)} readings/s`, `${formatCount(sent)} sent`, ...left].join(' | ');
}

async function kafkaTarget(options: ProduceOptions): Promise<Target> {
  const brokers = options.brokers.split(',').map((broker) => broker.trim());
  await waitForKafka(brokers, ['--brokers'], options.connectTimeout);
  const producer = await ReadingsProducer.connect(brokers, options.topic, options.partitions);
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

/** The readings to send, in batches, and how many are left after `sent`. */
function readingsOf(options: ProduceOptions): { batches: AsyncGenerator<Buffer[]>; remaining(sent: number): Remaining } {
  if (options.file !== undefined) {
    const file = options.file;
    const stream = createReadStream(file, { highWaterMark: 1 << 20 });
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    return {
      batches: fileBatches(new LineBatcher(stream, options.batch, (line) => ({ file, line }))),
      remaining: () => (size > 0 ? { fileShare: stream.bytesRead / size } : undefined),
    };
  }
  const total = options.generate as number;
  return { batches: generatedBatches(options, total), remaining: (sent) => ({ readings: total - sent }) };
}

async function* fileBatches(lines: LineBatcher): AsyncGenerator<Buffer[]> {
  for (let batch = await lines.next(); batch !== null; batch = await lines.next()) yield [...batch.values];
}

async function* generatedBatches(options: ProduceOptions, total: number): AsyncGenerator<Buffer[]> {
  const plant = new Plant({ zones: options.zones, devicesPerZone: 4, seed: options.seed, spikeRate: 0.002, heatWaveRate: 0.0003, badRate: 0 });
  for (let start = 0; start < total; start += options.batch) {
    const values: Buffer[] = [];
    for (let i = start; i < Math.min(total, start + options.batch); i++) values.push(Buffer.from(plant.next(Date.now()).line));
    yield values;
  }
}
