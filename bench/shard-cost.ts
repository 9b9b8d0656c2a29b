/**
 * A worker's cost per reading, without threads, files or Kafka: the seed
 * job's rules over the throughput bench's stream (600,000 readings, 10,000
 * zones), processed by one in-process Shard in 1,000-reading tasks, five
 * times; the median CPU time (user + system, which another process on the
 * same cores disturbs less than wall time). `--build DIR` measures another
 * build of Klaxon instead (a checkout of another commit, built), so two
 * commits can be compared in turns on the same machine:
 *
 *   node dist/bench/shard-cost.js [--build /path/to/other/checkout] [--readings N]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { build: { type: 'string' }, readings: { type: 'string', default: '600000' }, rounds: { type: 'string', default: '5' } },
});
const root = values.build === undefined ? resolve(import.meta.dirname, '../..') : resolve(values.build);
const load = (path: string) => import(pathToFileURL(resolve(root, 'dist', path)).href);

const { parseConfig } = await load('src/config/load.js');
const { Shard } = await load('src/engine/shard.js');
const { linesTask } = await load('src/protocol/messages.js');
const { SEED_RULES } = await load('src/config/seed-rules.js');
const { benchPlant, readingTs } = await load('bench/make-stream.js');

const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...SEED_RULES }, { baseDir: '/' });
// A build from before rule set versions takes `rules`; a later one `versions`.
const rules = 'versions' in config ? { window: config.window, versions: config.versions } : { window: config.window, rules: config.rules };
const zones = 10_000;
const readings = Number(values.readings);
const plant = benchPlant({ zones, seed: 7 });
// Packed before the clock starts: the worker's cost, not the packing's (a worker never packs). process() only reads a task.
const tasks: unknown[] = [];
for (let i = 0; i < readings; i += 1_000)
  tasks.push(linesTask(Array.from({ length: Math.min(1_000, readings - i) }, (_, k) => plant.next(readingTs(i + k, zones)).line)));

const cpuMs: number[] = [];
let alerts = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules });
  const before = process.cpuUsage();
  alerts = 0;
  for (const task of tasks) alerts += shard.process(task).alerts.length;
  const used = process.cpuUsage(before);
  cpuMs.push((used.user + used.system) / 1_000);
}
cpuMs.sort((a, b) => a - b);
const median = cpuMs[Math.floor(cpuMs.length / 2)] as number;
process.stdout.write(
  `${JSON.stringify({ build: root, readings, alerts, medianCpuMs: Math.round(median), nsPerReading: Math.round((median * 1e6) / readings), cpuMs: cpuMs.map(Math.round) })}\n`,
);
