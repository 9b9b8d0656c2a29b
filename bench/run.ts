/**
 * `npm run bench`: every benchmark in one command, in sequence, against the
 * local services (started if needed), then the charts and targets.md.
 *
 *   npm run bench -- [--quick] [--only throughput,latency,memory,recovery] [--skip latency]
 *     [--readings 5000000] [--zones 10000] [--workers 1,2,4] [--processes 1,2] [--process-workers 1] [--partitions 6]
 *     [--memory-zones 10000,100000] [--latency "--rates 10000,50000 --seconds 20"] [--recovery "--backlog 2000000"] [--no-report]
 *     [--builds /path/to/other/checkout,.]   (throughput: these builds run the engine, in turns)
 *
 * Parts (each its own module or script, each writing bench/results/NAME.*):
 *   throughput  Kafka → engine process(es) → Kafka on a backlog, per worker and process count, against the plain kafkajs ceiling (kafka-throughput.ts)
 *   latency     end-to-end latency at fixed offered rates (latency.ts, its own process; --latency passes it options)
 *   memory      zone state memory per zone at each --memory-zones, each in a fresh process (memory.ts)
 *   recovery    Redis snapshot time and bytes, restart, throughput with snapshots (recovery.ts, its own process; --recovery passes it options)
 *
 * --quick is a smoke test of every part in about two minutes; its figures are not results.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafka } from '../src/io/kafka/client.js';
import { parseBuilds } from './builds.js';
import { writeCharts } from './charts.js';
import { runBench, startServices } from './environment.js';
import { kafkaThroughput } from './kafka-throughput.js';
import { zoneMemory } from './memory.js';
import { BenchResources } from './resources.js';
import { writeTargets } from './targets.js';

const PARTS = ['throughput', 'latency', 'memory', 'recovery'] as const;
type Part = (typeof PARTS)[number];

const FULL = {
  readings: '5000000',
  zones: '10000',
  workers: '1,2,4',
  processes: '1,2',
  'memory-zones': '10000,100000',
  latency: '',
  recovery: '--zones 100000 --backlog 2000000',
};
const QUICK: typeof FULL = {
  readings: '300000',
  zones: '10000',
  workers: '1,2',
  processes: '2',
  'memory-zones': '10000,20000',
  latency: '--rates 10000 --seconds 5 --guarantees at-least-once',
  recovery: '--zones 10000 --backlog 200000',
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: PARTS.join(',') },
    skip: { type: 'string', default: '' },
    readings: { type: 'string' },
    zones: { type: 'string' },
    workers: { type: 'string' },
    processes: { type: 'string' },
    'process-workers': { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
    'memory-zones': { type: 'string' },
    latency: { type: 'string' },
    recovery: { type: 'string' },
    'no-report': { type: 'boolean', default: false },
    builds: { type: 'string' },
  },
});
const preset = values.quick ? QUICK : FULL;
const option = (name: keyof typeof FULL) => values[name] ?? preset[name];
const numbers = (list: string) => list.split(',').filter(Boolean).map(Number);
const parts = partsToRun(values.only, values.skip);

const { brokers, redisUrl } = startServices();
const kafka = createKafka(brokers, 'klaxon-bench');
const resources = new BenchResources(kafka, redisUrl, log);

await runBench('bench', main, () => resources.cleanup());

async function main(): Promise<void> {
  const started = performance.now();
  log(`parts: ${parts.join(', ')}${values.quick ? ' (--quick: a smoke test, not results)' : ''}`);
  for (const part of parts) {
    const partStarted = performance.now();
    log(`── ${part} ──`);
    await runPart(part);
    log(`${part}: done in ${seconds(partStarted)} s`);
  }
  if (!values['no-report']) {
    for (const path of writeCharts()) log(`wrote ${path}`);
    process.stdout.write(writeTargets());
  }
  log(`all done in ${seconds(started)} s`);
}

async function runPart(part: Part): Promise<void> {
  switch (part) {
    case 'throughput':
      await kafkaThroughput(
        {
          readings: Number(option('readings')),
          zones: Number(option('zones')),
          workers: numbers(option('workers')),
          processes: numbers(option('processes')),
          processWorkers: Number(values['process-workers']),
          partitions: Number(values.partitions),
          ...(values.builds === undefined ? {} : { builds: parseBuilds(values.builds) }),
        },
        { brokers, redisUrl, kafka, resources },
      );
      return;
    case 'latency':
      script('latency.js', option('latency'));
      return;
    case 'memory':
      zoneMemory(numbers(option('memory-zones')));
      return;
    case 'recovery':
      script('recovery.js', option('recovery'));
      return;
    default: {
      const never: never = part;
      throw new Error(`unknown part ${never}`);
    }
  }
}

/** A bench that is its own script (it cleans up after itself), with its options; its table goes to our stdout. */
function script(name: string, args: string): void {
  execFileSync(process.execPath, ['--expose-gc', join(import.meta.dirname, name), ...args.split(/\s+/).filter(Boolean)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

function partsToRun(only: string, skip: string): Part[] {
  const listed = (list: string) => {
    const names = list.split(',').filter(Boolean);
    const unknown = names.filter((name) => !(PARTS as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(', ')}: the parts are ${PARTS.join(', ')}`);
    return names;
  };
  const [wanted, skipped] = [listed(only), listed(skip)];
  return PARTS.filter((part) => wanted.includes(part) && !skipped.includes(part));
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(0);
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
