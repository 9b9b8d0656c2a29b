#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { describeError, KlaxonError } from '../errors.js';
import { demoCommand, runCommand, schemaCommand, topicsCreateCommand, validateCommand } from './commands.js';
import { produceCommand } from './produce.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}

const program = new Command()
  .name('klaxon')
  .description('A clustered stream engine that watches sensor readings and raises alerts.')
  .exitOverride()
  .showHelpAfterError('(run klaxon --help for usage)');

program
  .command('run')
  .description('run the job a config file describes (source → workers → sinks)')
  .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
  .option('-w, --workers <n>', 'override engine.workers', positiveInt)
  .action(runCommand);

program
  .command('demo')
  .description('the embedded default: a generated plant, alerts on the terminal, no services needed')
  .option('--zones <n>', 'zones to simulate', positiveInt, 200)
  .option('--rate <n>', 'readings per second (0: as fast as possible)', nonNegative, 2000)
  .option('-w, --workers <n>', 'worker threads', positiveInt, 2)
  .option('--count <n>', 'stop after this many readings', positiveInt)
  .action(demoCommand);

program
  .command('validate')
  .description('check a config file and exit (0: valid, 2: invalid)')
  .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
  .action(validateCommand);

program
  .command('produce')
  .description('write readings (an NDJSON file or generated) to a Kafka topic, keyed by zone_id')
  .option('--brokers <list>', 'bootstrap brokers, comma-separated', process.env.KLAXON_KAFKA_BROKERS ?? '127.0.0.1:19092')
  .option('--topic <name>', 'readings topic', 'readings')
  .option('--partitions <n>', 'partitions if the topic has to be created', positiveInt, 6)
  .option('--file <file>', 'NDJSON readings to send, in order')
  .option('--generate <count>', 'generate this many readings instead', positiveInt)
  .option('--zones <n>', 'zones for generated readings', positiveInt, 10_000)
  .option('--rate <n>', 'readings per second (0: as fast as possible)', nonNegative, 0)
  .option('--seed <n>', 'seed for generated readings', positiveInt, 42)
  .option('--batch <n>', 'records per produce request', positiveInt, 1_000)
  .action(produceCommand);

program
  .command('topics')
  .description('manage the Kafka topics a config names')
  .command('create')
  .description("create the config's readings, alerts and dead-letter topics if missing (also done on start)")
  .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
  .action(topicsCreateCommand);

program.command('schema').description("print the config's JSON Schema").action(schemaCommand);

try {
  await program.parseAsync(process.argv);
  process.exitCode ??= 0;
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; every other commander error is a usage error.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof KlaxonError) {
    process.stderr.write(`klaxon: ${describeError(error)}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`klaxon: unexpected failure: ${describeError(error)}\n`);
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  }
}
