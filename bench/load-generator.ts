/**
 * Open-loop load: readings to the readings topic, keyed by zone_id, at a fixed
 * offered rate. The schedule is the wall clock: at every tick (≈ linger) the
 * readings due by now are handed to the producer in batches, each stamped
 * `ts = Date.now()` as it is handed over (its produce time). A slow broker or
 * engine never slows the schedule down. If the producer itself cannot keep up
 * (up to maxInFlight requests out, all unanswered), the readings it owes are
 * made as soon as it can take them, and the result says how far behind the
 * schedule it was (schedule lag, achieved rate) instead of quietly sending
 * less: that lag is the generator's, so it is not in the readings' latency.
 *
 * A fraction of readings (default 0.5%) is 95 °C, over the `too-hot`
 * threshold (89); every other reading sits within ±1 °C of its zone's base, so
 * no other rule fires on noise. The first anomaly of a run of them fires (edge
 * mode) and the next normal reading resolves it: the generator counts the
 * firings the engine must produce, so a runner can tell lost alerts from slow ones.
 *
 *   node dist/bench/load-generator.js --topic T --rate 50000 --seconds 20 [--zones 10000]
 *     [--skew uniform|zipf] [--zipf-s 1.1] [--anomalies 0.005] [--warmup 2] [--json]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import type { PartitionMetadata } from 'kafkajs';
import { seededRandom } from '../src/io/generator/readings.js';
import { createKafka, ensureTopic } from '../src/io/kafka/client.js';
import { Partitioners } from '../src/io/kafka/kafkajs.js';
import { RawProducer } from './raw-producer.js';

export interface LoadOptions {
  brokers: string[];
  topic: string;
  /** Offered readings per second. */
  rate: number;
  seconds: number;
  zones: number;
  skew: 'uniform' | 'zipf';
  /** Zipf exponent: zone k (from 1) gets a share ∝ 1/k^s. */
  zipfS: number;
  /** Fraction of readings at 95 °C. */
  anomalies: number;
  /** Readings stamped earlier than this many seconds into the run are warm-up (counted apart). */
  warmupSeconds: number;
  seed: number;
  /** Schedule tick: readings due are handed over at most this late (the generator's linger). */
  lingerMs: number;
  /** Produce requests in flight at most; while all are out, due readings wait to be made. */
  maxInFlight: number;
  /** Readings per produce request at most (a partition's batch must stay under the broker's 1 MB limit: ~100 bytes a reading). */
  maxBatch: number;
  /** Partitions of the readings topic (created with this many if missing). */
  partitions: number;
  /**
   * Several generator processes split the load by zone: process `index` of
   * `count` sends only zones ≡ index (mod count), so each one's count of
   * expected firings stays exact (it sees every reading of its zones).
   */
  producer: { index: number; count: number };
  /** Progress each second (the CLI prints it). */
  onProgress?: (p: { seconds: number; sent: number; acked: number; behind: number }) => void;
}

export interface LoadResult {
  offeredRate: number;
  /** Epoch ms of the schedule's start; measured readings have ts ≥ measureFrom = startedAt + warm-up. */
  startedAt: number;
  measureFrom: number;
  sent: number;
  /** Readings acknowledged by the broker over the time from start to the last ack. */
  achievedRate: number;
  /** Whether the producer sent at the offered rate: achieved ≥ 97% and never more than 250 ms behind the schedule. */
  keptUp: boolean;
  /** How late readings were handed to the producer against their scheduled time (per batch, its first reading). */
  scheduleLagMs: { p50: number; p99: number; max: number };
  batches: number;
  /** Hand-off (ts) → broker ack, per batch: the producer's and broker's share of the end-to-end latency. */
  ackMs: { p50: number; p99: number; max: number };
  anomalies: number;
  /** too-hot firings the engine must raise: all, and for readings stamped after the warm-up. */
  expectedFiring: number;
  expectedFiringMeasured: number;
  /** Seconds from start to the last ack (schedule + draining what was in flight). */
  seconds: number;
  /** CPU time this process used over the run (user + system). */
  cpuSeconds: number;
}

export const LOAD_DEFAULTS = {
  zones: 10_000,
  skew: 'uniform',
  zipfS: 1.1,
  anomalies: 0.005,
  warmupSeconds: 0,
  seed: 42,
  lingerMs: 1,
  maxInFlight: 5,
  maxBatch: 2_000,
  partitions: 6,
  producer: { index: 0, count: 1 },
} satisfies Partial<LoadOptions>;

/**
 * The load's producer: produce requests written by hand (raw-producer.ts), not idempotent (several requests in
 * flight; one connection per leader keeps them in order), acks from the leader. kafkajs needed ~16 µs of CPU per
 * reading here, on the cores the engine shares; this one a small fraction of that (the result's cpuSeconds).
 */
async function connectProducer(brokers: string[], topic: string, partitions: number): Promise<RawProducer> {
  const kafka = createKafka(brokers, 'klaxon-load');
  await ensureTopic(kafka, topic, partitions);
  return RawProducer.connect(kafka, topic);
}

/** Runs the open-loop schedule to its end and until every reading sent is acknowledged. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const o = options;
  const producer = await connectProducer(o.brokers, o.topic, o.partitions);
  const partitionOf = zonePartitions(o.topic, o.zones, o.partitions);
  const { index, count } = o.producer;
  const pick = zonePicker(Math.floor((o.zones - index + count - 1) / count), o.skew, o.zipfS, o.seed + index);
  const nextZone = () => pick() * count + index;
  const random = seededRandom((o.seed + index) ^ 0x9e3779b9);
  const firing = new Uint8Array(o.zones);
  const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  // Both in microseconds.
  const [acks, lateness] = [histogram(), histogram()];
  const r = { due: 0, sent: 0, acked: 0, batches: 0, anomalies: 0, expectedFiring: 0, expectedFiringMeasured: 0 };
  let inFlight = 0;
  let failure: unknown;
  let lastAckAt = 0;

  const startedAt = Date.now();
  const start = performance.now();
  const cpuAtStart = process.cpuUsage();
  const measureFrom = startedAt + o.warmupSeconds * 1000;
  const total = Math.round(o.rate * o.seconds);

  const value = Buffer.allocUnsafe(1024);
  /** The next `count` readings, stamped now (ts is the moment they are handed to the producer), added to the producer's batches. */
  const readings = (count: number): number => {
    const ts = Date.now();
    for (let i = 0; i < count; i++) {
      const zone = nextZone();
      const hot = random() < o.anomalies;
      const temperature = hot ? 95 : 55 + (zone % 20) + (random() * 2 - 1);
      if (hot) {
        r.anomalies++;
        if (firing[zone] === 0) {
          r.expectedFiring++;
          if (ts >= measureFrom) r.expectedFiringMeasured++;
        }
      }
      firing[zone] = hot ? 1 : 0;
      const device = `dev-${zone}-${(r.sent + i) & 3}`;
      const length = value.write(`{"device_id":"${device}","zone_id":"zone-${zone}","temperature":${temperature.toFixed(2)},"ts":${ts}}`, 0, 'latin1');
      producer.add(partitionOf[zone] as number, `zone-${zone}`, value, length);
    }
    return ts;
  };

  /**
   * Hands what the schedule owes to the producer, a batch per request while
   * fewer than maxInFlight are out. When all are out, readings wait unmade
   * (and unstamped): that wait is the generator falling behind, measured as
   * schedule lag, not the engine's latency.
   */
  const send = () => {
    while (r.sent < r.due && inFlight < o.maxInFlight) {
      const handedAt = performance.now();
      const scheduledAt = start + (r.sent / o.rate) * 1000;
      lateness.recordValue(Math.max(1, Math.round((handedAt - scheduledAt) * 1000)));
      const count = Math.min(o.maxBatch, r.due - r.sent);
      const ts = readings(count);
      r.sent += count;
      r.batches++;
      inFlight++;
      producer.send(ts).then(
        () => {
          inFlight--;
          r.acked += count;
          lastAckAt = performance.now();
          acks.recordValue(Math.max(1, Math.round((lastAckAt - handedAt) * 1000)));
          send();
        },
        (error: unknown) => {
          failure ??= error;
        },
      );
    }
  };

  let lastProgress = start;
  try {
    while (r.sent < total) {
      if (failure !== undefined) throw failure;
      const now = performance.now();
      r.due = Math.min(total, Math.floor(((now - start) / 1000) * o.rate));
      send();
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        o.onProgress?.({ seconds: (now - start) / 1000, sent: r.sent, acked: r.acked, behind: r.due - r.sent });
      }
      await new Promise((resolve) => setTimeout(resolve, o.lingerMs));
    }
    const giveUpAt = performance.now() + 60_000;
    while (r.acked < r.sent) {
      if (failure !== undefined) throw failure;
      if (performance.now() > giveUpAt) throw new Error(`${r.sent - r.acked} readings still unacknowledged 60 s after the schedule ended`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    producer.close();
  }
  const seconds = (lastAckAt - start) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  const achievedRate = Math.round(r.acked / seconds);
  const ms = (h: typeof acks) => ({ p50: msAt(h, 50), p99: msAt(h, 99), max: Math.round(h.maxValue / 10) / 100 });
  const scheduleLagMs = ms(lateness);
  return {
    offeredRate: o.rate,
    startedAt,
    measureFrom,
    sent: r.sent,
    achievedRate,
    keptUp: achievedRate >= 0.97 * o.rate && scheduleLagMs.max < 250,
    scheduleLagMs,
    batches: r.batches,
    ackMs: ms(acks),
    anomalies: r.anomalies,
    expectedFiring: r.expectedFiring,
    expectedFiringMeasured: r.expectedFiringMeasured,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function msAt(histogram: ReturnType<typeof hdr.build>, percentile: number): number {
  return Math.round(histogram.getValueAtPercentile(percentile) / 10) / 100;
}

/**
 * Each zone's partition, by kafkajs's default (Java-compatible murmur2)
 * partitioner, as ReadingsProducer would choose it; computed once per zone
 * rather than per reading (the hash in JS Longs was 8% of the producer's CPU).
 */
function zonePartitions(topic: string, zones: number, partitions: number): Int32Array {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }) as PartitionMetadata);
  return Int32Array.from({ length: zones }, (_, zone) => partitioner({ topic, partitionMetadata, message: { key: `zone-${zone}`, value: null } }));
}

/** Zone indices, uniform or Zipf(s) over 0..zones-1 (zone 0 hottest), from a seeded generator. */
export function zonePicker(zones: number, skew: 'uniform' | 'zipf', s: number, seed: number): () => number {
  const random = seededRandom(seed);
  if (skew === 'uniform') return () => Math.floor(random() * zones);
  const cdf = new Float64Array(zones);
  let sum = 0;
  for (let k = 0; k < zones; k++) cdf[k] = sum += 1 / (k + 1) ** s;
  for (let k = 0; k < zones; k++) (cdf[k] as number) /= sum;
  return () => {
    const u = random();
    let [lo, hi] = [0, zones - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: process.env.KLAXON_KAFKA_BROKERS ?? '127.0.0.1:19092' },
      topic: { type: 'string', default: 'readings' },
      rate: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '10' },
      zones: { type: 'string', default: String(LOAD_DEFAULTS.zones) },
      skew: { type: 'string', default: LOAD_DEFAULTS.skew },
      'zipf-s': { type: 'string', default: String(LOAD_DEFAULTS.zipfS) },
      anomalies: { type: 'string', default: String(LOAD_DEFAULTS.anomalies) },
      warmup: { type: 'string', default: String(LOAD_DEFAULTS.warmupSeconds) },
      seed: { type: 'string', default: String(LOAD_DEFAULTS.seed) },
      linger: { type: 'string', default: String(LOAD_DEFAULTS.lingerMs) },
      'max-in-flight': { type: 'string', default: String(LOAD_DEFAULTS.maxInFlight) },
      'max-batch': { type: 'string', default: String(LOAD_DEFAULTS.maxBatch) },
      partitions: { type: 'string', default: String(LOAD_DEFAULTS.partitions) },
      'producer-index': { type: 'string', default: '0' },
      'producer-count': { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.skew !== 'uniform' && values.skew !== 'zipf') throw new Error('--skew is uniform or zipf');
  const result = await runLoad({
    brokers: values.brokers.split(','),
    topic: values.topic,
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    zones: Number(values.zones),
    skew: values.skew,
    zipfS: Number(values['zipf-s']),
    anomalies: Number(values.anomalies),
    warmupSeconds: Number(values.warmup),
    seed: Number(values.seed),
    lingerMs: Number(values.linger),
    maxInFlight: Number(values['max-in-flight']),
    maxBatch: Number(values['max-batch']),
    partitions: Number(values.partitions),
    producer: { index: Number(values['producer-index']), count: Number(values['producer-count']) },
    onProgress: (p) =>
      process.stderr.write(
        `[load] ${p.seconds.toFixed(0)} s: ${p.sent.toLocaleString('en-US')} sent, ${p.acked.toLocaleString('en-US')} acked, ${p.behind.toLocaleString('en-US')} behind the schedule\n`,
      ),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stderr.write(`[load] ${JSON.stringify(result, null, 2)}\n`);
  if (!result.keptUp) process.stderr.write(`[load] fell behind: offered ${result.offeredRate}/s, achieved ${result.achievedRate}/s\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli().catch((error: unknown) => {
    process.stderr.write(`load generator failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
