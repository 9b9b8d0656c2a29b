#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { parseDuration } from '../config/durations.js';
import type { LogLevel } from '../config/types.js';
import { causesOf, describeError, KlaxonError } from '../errors.js';
import { isLogFormat, isLogLevel, type LogFormat, logger, setLogFormat, setLogLevel } from '../log.js';
import { backtestCommand } from './backtest.js';
import { demoCommand, runCommand, schemaCommand, stateInspectCommand, stateResetCommand, topicsCreateCommand, validateCommand } from './commands.js';
import { produceCommand } from './produce.js';
import { rulesApplyCommand, rulesListCommand, rulesShowCommand } from './rules.js';
import { installStopSignals } from './stop-signals.js';

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

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('expected a port number (0: any free port)');
  return n;
}

function logLevel(value: string) {
  if (!isLogLevel(value)) throw new InvalidArgumentError('expected fatal, error, warn, info, debug, trace or silent');
  return value;
}

function logFormat(value: string) {
  if (!isLogFormat(value)) throw new InvalidArgumentError('expected json or pretty');
  return value;
}

function duration(value: string): number {
  const ms = parseDuration(/^\d+$/.test(value) ? Number(value) : value);
  if (ms === undefined || ms < 1) throw new InvalidArgumentError('expected a duration such as 10s, 500ms or 2m (a bare number is milliseconds)');
  return ms;
}

const LOG_LEVEL_HELP = 'log level (overrides log.level in the config)';
const LOG_FORMAT_HELP = 'log lines as json, or pretty for a person (default: pretty on a terminal, else json; env KLAXON_LOG_FORMAT)';
const CONNECT_TIMEOUT_HELP = 'how long to wait for Kafka and Redis at start (overrides connectTimeout in the config; default 10s)';

installStopSignals();

/** How long a finished command may take to exit by itself before it is made to. */
const EXIT_GRACE_MS = 2_000;

const program = new Command()
  .name('klaxon')
  .description('A clustered stream engine that watches sensor readings and raises alerts.')
  .exitOverride()
  .showHelpAfterError('(run klaxon --help for usage)')
  // Before the command runs, so that its first line is in the chosen format.
  .hook('preAction', (_program, command) => {
    const { logFormat, logLevel } = command.opts<{ logFormat?: LogFormat; logLevel?: LogLevel }>();
    if (logFormat !== undefined) setLogFormat(logFormat);
    if (logLevel !== undefined) setLogLevel(logLevel);
  });

/** --log-level and --log-format, for every command that logs. */
function withLogOptions(command: Command): Command {
  return command.option('--log-level <level>', LOG_LEVEL_HELP, logLevel).option('--log-format <format>', LOG_FORMAT_HELP, logFormat);
}

withLogOptions(
  program
    .command('run')
    .description('run the job a config file describes (source → workers → sinks)')
    .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
    .option('-w, --workers <n>', 'override engine.workers', positiveInt)
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, duration),
).action(runCommand);

withLogOptions(
  program
    .command('demo')
    .description('the embedded default: a generated plant, alerts on the terminal, no services needed')
    .option('--zones <n>', 'zones to simulate', positiveInt, 200)
    .option('--rate <n>', 'readings per second (0: as fast as possible)', nonNegative, 2000)
    .option('-w, --workers <n>', 'worker threads', positiveInt, 2)
    .option('--count <n>', 'stop after this many readings', positiveInt)
    .option('--port <n>', 'port of the live dashboard and /metrics (default 9464, or any free port if it is taken; 0: any free port)', port)
    .option('--no-dashboard', 'no HTTP server and no dashboard'),
).action(demoCommand);

program
  .command('validate')
  .description('check a config file and exit (0: valid, 2: invalid)')
  .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
  .action(validateCommand);

withLogOptions(
  program
    .command('produce')
    .description('write readings (an NDJSON file or generated) to a Kafka topic, keyed by zone_id, or generated ones to a file (--out)')
    .option('--brokers <list>', 'bootstrap brokers, comma-separated', process.env.KLAXON_KAFKA_BROKERS ?? '127.0.0.1:19092')
    .option('--topic <name>', 'readings topic', 'readings')
    .option('--partitions <n>', 'partitions if the topic has to be created', positiveInt, 6)
    .option('--file <file>', 'NDJSON readings to send, in order')
    .option('--generate <count>', 'generate this many readings instead', positiveInt)
    .option('--out <file>', 'write the generated readings to this NDJSON file instead of Kafka')
    .option('--zones <n>', 'zones for generated readings', positiveInt, 10_000)
    .option('--rate <n>', 'readings per second (0: as fast as possible)', nonNegative, 0)
    .option('--seed <n>', 'seed for generated readings', positiveInt, 42)
    .option('--batch <n>', 'records per produce request', positiveInt, 1_000)
    .option('--connect-timeout <duration>', 'how long to wait for Kafka at start', duration, 10_000),
).action(produceCommand);

withLogOptions(
  program
    .command('topics')
    .description('manage the Kafka topics a config names')
    .command('create')
    .description("create the config's readings, alerts and dead-letter topics if missing (also done on start)")
    .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, duration),
).action(topicsCreateCommand);

const state = program.command('state').description("operators' tools for the zone state kept in Redis");
withLogOptions(
  state
    .command('inspect')
    .description("a zone's statistics as its latest snapshot holds them: seq, count, mean, σ, latest values, firing rules")
    .argument('<zone>', 'zone_id')
    .requiredOption('-c, --config <file>', 'cluster config file (JSON) with a redis state store')
    .option('--values <n>', 'how many of the latest values to print', positiveInt, 20)
    .option('--json', 'one JSON object instead of text')
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, duration),
).action(stateInspectCommand);

withLogOptions(
  state
    .command('reset')
    .description("delete the config's snapshots in Redis; the next start rebuilds state from the topic")
    .requiredOption('-c, --config <file>', 'cluster config file (JSON)')
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, duration),
).action(stateResetCommand);

const rules = program.command('rules').description("the deployment's rule set versions: apply a new one while the engines run, list them, show one");
rules
  .command('apply')
  .description('check a new version of the rule set, print what it changes, and publish it to the rules channel')
  .requiredOption('-c, --config <file>', "the deployment's config (JSON)")
  .requiredOption('-r, --rules <file>', 'the new version: {"rules": [...]} (optionally with version, effectiveFrom) or a list of rules')
  .option('--effective-from <when>', 'now, +DURATION (such as +30s), an ISO date or ms since the epoch (default: now + 10s)')
  .option('--version <n>', 'the version number (default: the latest + 1)', positiveInt)
  .option('--dry-run', 'check and print, publish nothing')
  .action((options) => rulesApplyCommand(options));
rules
  .command('list')
  .description("every version of the deployment's rule set, the one in force now marked")
  .requiredOption('-c, --config <file>', "the deployment's config (JSON)")
  .action((options) => rulesListCommand(options));
rules
  .command('show')
  .description('one version as a rules file holds it (default: the one in force now)')
  .argument('[version]', 'version number', positiveInt)
  .requiredOption('-c, --config <file>', "the deployment's config (JSON)")
  .action((version: number | undefined, options: { config: string }) => rulesShowCommand(version, options));

withLogOptions(
  program
    .command('backtest')
    .description('what a rule set would have raised over past readings, beside a baseline, with reports; touches no deployment')
    .requiredOption(
      '-r, --rules <file>',
      'the candidate rule set: {"rules": [...]} or {"versions": [...]} (optionally with window and mode), a version as `rules show` prints it, or a list of rules',
    )
    .option(
      '--baseline <file>',
      "the rule set to compare with, in the same forms (default with --config: the deployment's rule set, each version by event time)",
    )
    .option('--baseline-version <n>', "one version of the deployment's rule set as the baseline (needs --config)", positiveInt)
    .option('-i, --input <file>', "NDJSON readings (default: the config's source: its file, or its Kafka topic)")
    .option('-c, --config <file>', "the deployment's config: window, mode, rule set, brokers and readings topic")
    .option('--topic <name>', "read this topic instead of the config's readings topic (on its brokers)")
    .option('--from <time>', 'from this time: now, -SPAN (-7d, -36h), an ISO date or ms since the epoch (a file: by reading ts; a topic: by record time)')
    .option('--to <time>', 'until this time (excluded), in the same forms')
    .option('--warmup <span>', 'also read this long before --from to build zone statistics, without counting those alerts (30m, 6h, 2d)')
    .option('--zones <globs...>', 'only zones matching one of these globs (* any run, ? one character)')
    .option('-o, --out <dir>', "where the reports, the candidate's alerts and the difference go", 'klaxon-backtest')
    .option('-w, --workers <n>', 'worker threads (default: engine.workers, or one per core)', positiveInt)
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, duration),
).action((options) => backtestCommand(options));

program.command('schema').description("print the config's JSON Schema").action(schemaCommand);

try {
  await program.parseAsync(process.argv);
  process.exitCode ??= 0;
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; every other commander error is a usage error.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof KlaxonError && error.exitCode === 2) {
    // A bad command line or config is the answer to the person who typed it: plain text, every problem named.
    process.stderr.write(`klaxon: ${describeError(error)}\n`);
    process.exitCode = error.exitCode;
  } else {
    // A runtime failure is an operational event, logged as one sentence with what caused it; the stack only at
    // debug level (it is for whoever debugs Klaxon, not for the operator whose Kafka is down).
    const log = logger('cli');
    const known = error instanceof KlaxonError;
    const causes = causesOf(error);
    const fields = {
      ...(known ? { code: error.code } : {}),
      ...(causes.length > 0 ? { cause: causes.join(': ') } : {}),
      ...(log.isLevelEnabled('debug') ? { err: error } : {}),
    };
    const message = error instanceof Error ? error.message : String(error);
    log.fatal(fields, known ? message : `unexpected failure: ${message} (--log-level debug shows where)`);
    process.exitCode = known ? error.exitCode : 1;
  }
}

// Everything is flushed and closed by now. kafkajs 2.2.4 can keep one broker socket open after its clients
// disconnect when the broker restarted during the run (seen in test/integration/outages.test.ts: one ESTABLISHED
// socket to the restarted broker, no client of ours still connected), which would keep the process alive forever.
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
