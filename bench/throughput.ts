/**
 * Engine throughput without Kafka: file source → N workers → file sink, on a
 * generated stream (default 2,000,000 readings over 10,000 zones), at 1, 2
 * and 4 workers, plus state memory per zone. Compare the rows of one run
 * with each other, not with runs on another day: the machine is shared.
 *
 *   npm run bench:throughput -- [--readings N] [--zones N] [--workers 1,2,4]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { runEngine } from '../src/coordinator/engine.js';
import { environment, OUT_DIR, table, writeResult } from './environment.js';
import { ensureStream } from './make-stream.js';
import { DEFAULT_RULES } from './rules.js';
import { measureZoneMemory } from './zone-memory.js';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '2000000' },
    zones: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1,2,4' },
  },
});
const readings = Number(values.readings);
const zones = Number(values.zones);
const workerCounts = values.workers.split(',').map(Number);

const RULES = DEFAULT_RULES;

// Memory first, while the heap holds nothing else.
const memory = measureZoneMemory(100_000, RULES);

const input = await ensureStream(join(OUT_DIR, `stream-${readings}-${zones}.ndjson`), { readings, zones, seed: 7 });
process.stderr.write(`stream ${input}\n`);

const rows: Array<Record<string, string | number>> = [];
const runs = [];
for (const workers of workerCounts) {
  const alertsPath = join(OUT_DIR, `alerts-${workers}w.ndjson`);
  const config = parseConfig(
    {
      engine: { workers },
      source: { type: 'file', path: input },
      sink: { type: 'file', path: alertsPath },
      deadLetter: { type: 'file', path: join(OUT_DIR, `dead-${workers}w.ndjson`) },
      ...RULES,
    },
    { baseDir: OUT_DIR },
  );
  process.stderr.write(`running with ${workers} workers…\n`);
  const summary = await runEngine(config);
  // Same alerts whatever the worker count: a fingerprint of the sorted lines.
  const fingerprint = createHash('sha256').update(readFileSync(alertsPath, 'utf8').split('\n').filter(Boolean).sort().join('\n')).digest('hex').slice(0, 12);
  const perSecond = Math.round(summary.records / (summary.elapsedMs / 1000));
  runs.push({ workers, ...summary, readingsPerSecond: perSecond, alertsFingerprint: fingerprint });
  rows.push({
    workers,
    'readings/s': perSecond.toLocaleString('en-US'),
    seconds: (summary.elapsedMs / 1000).toFixed(1),
    alerts: summary.alerts,
    'dead letters': summary.rejected,
    zones: summary.zones,
    'alerts fingerprint': fingerprint,
  });
}

const memoryRows = [
  {
    zones: memory.zones.toLocaleString('en-US'),
    'typed-array state/zone': `${memory.stateBytesPerZone} B`,
    'measured heap+buffers/zone': `${Math.round(memory.measuredBytesPerZone)} B`,
    'total for 100k zones': `${(memory.measuredBytes / 2 ** 20).toFixed(0)} MiB`,
  },
];

const markdown = `# Throughput: file → workers → file

${readings.toLocaleString('en-US')} readings over ${zones.toLocaleString('en-US')} zones, default rules (4 rule types, W = 500, 1 s panes, 5 min span and lag).

${table(rows)}

State memory per zone at the default config:

${table(memoryRows)}

Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
writeResult('throughput', { environment: environment(), readings, zones, runs, memory }, markdown);
process.stdout.write(`${markdown}\n`);
