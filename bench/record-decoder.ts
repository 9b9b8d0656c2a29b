/**
 * Decoding fetched record batches: kafkajs's decoder against Klaxon's
 * (src/io/kafka/record-batch-decoder.ts), in process, no broker. The batches
 * are what the throughput bench's producer writes: the bench stream's readings
 * (~90 bytes, keyed by zone_id, no headers), 1,000 records a batch,
 * uncompressed and gzip. Each decoder reads the same buffer of 10 batches 200
 * times a round, in turns, five rounds; CPU of the whole process (user +
 * system: V8's GC helpers included) per record, the median round reported.
 *
 *   npm run bench:record-decoder
 */
import { parseArgs } from 'node:util';
import { decodeRecordBatch, type KafkajsDecoder, kafkajsInternals, type RecordBatchDecode } from '../src/io/kafka/record-batch-decoder.js';
import { environment, table, writeResult } from './environment.js';
import { benchPlant, readingTs } from './make-stream.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, passes: { type: 'string', default: '200' } } });
const { RecordBatch, Record, Long } = kafkajsInternals;

const ZONES = 10_000;
const BATCHES = 10;
const PER_BATCH = 1_000;
const GZIP = 1;

async function fetchBuffer(compression: number): Promise<Buffer> {
  const plant = benchPlant({ zones: ZONES, seed: 7 });
  const batches: Buffer[] = [];
  const now = Date.now();
  for (let b = 0; b < BATCHES; b++) {
    const records = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const { line, key } = plant.next(readingTs(b * PER_BATCH + i, ZONES));
      records.push(Record({ offsetDelta: i, timestampDelta: Long.fromValue(i), key, value: Buffer.from(line), headers: {} }));
    }
    const firstOffset = Long.fromValue(String(3_000_000 + b * PER_BATCH));
    const encoded = await RecordBatch({
      compression,
      firstOffset,
      firstTimestamp: Long.fromValue(now),
      maxTimestamp: Long.fromValue(now + PER_BATCH),
      records,
    });
    batches.push(Buffer.from(encoded.buffer));
  }
  return Buffer.concat(batches);
}

async function cpuPerRecord(decode: RecordBatchDecode, buffer: Buffer): Promise<number> {
  const before = process.cpuUsage();
  let records = 0;
  for (let pass = 0; pass < Number(values.passes); pass++) {
    const decoder = new kafkajsInternals.Decoder(buffer) as KafkajsDecoder;
    while (decoder.offset < buffer.length) records += (await decode(decoder)).records.length;
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / records;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const decoders: Array<[string, RecordBatchDecode]> = [
  ['kafkajs', kafkajsInternals.decode],
  ['klaxon', decodeRecordBatch],
];
const rows: Array<Record<string, string | number>> = [];
for (const [compression, name] of [
  [0, 'none'],
  [GZIP, 'gzip'],
] as const) {
  const buffer = await fetchBuffer(compression);
  const perRound = new Map<string, number[]>(decoders.map(([decoder]) => [decoder, []]));
  for (let round = 0; round < Number(values.rounds); round++)
    for (const [decoder, decode] of decoders) perRound.get(decoder)?.push(await cpuPerRecord(decode, buffer));
  for (const [decoder, us] of perRound)
    rows.push({ compression: name, decoder, 'CPU µs/record (median)': median(us).toFixed(3), rounds: us.map((u) => u.toFixed(3)).join(', ') });
}
const env = environment();
const markdown = `# Decoding fetched record batches: kafkajs's decoder and Klaxon's

${BATCHES} record batches of ${PER_BATCH.toLocaleString('en')} readings (the bench stream, keyed by zone_id, no headers) decoded ${values.passes} times a round by each decoder in turns, ${values.rounds} rounds, in one process without a broker (\`npm run bench:record-decoder\`). CPU of the whole process (user + system, V8's GC helper threads included) per record. Both give the same records (test/unit/io/kafka/record-batch-decoder.test.ts).

${table(rows)}

Measured ${env.date} on ${JSON.stringify(env)}.
`;
writeResult('record-decoder', { environment: env, rows }, markdown);
process.stdout.write(markdown);
