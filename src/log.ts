import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config/types.js';
import { terminal } from './terminal.js';

/**
 * Klaxon's structured logs on stderr (pino), one logger per component
 * (`logger('kafka-source')`). Nothing logs per reading: a line is an event an
 * operator may act on (start, stop, assignment, retry, failure), with its
 * context as fields (partition, offset, zone) rather than in the text.
 *
 * The level comes from the config's `log.level`, `--log-level` or, before
 * either is read, KLAXON_LOG_LEVEL (default info); setLogLevel changes every
 * component's logger at once. The format is `pretty` (time, level, component,
 * message, the fields on one line) when stderr is a terminal and JSON lines
 * otherwise; KLAXON_LOG_FORMAT or `--log-format` choose.
 */

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FORMATS = ['json', 'pretty'] as const;

export type LogFormat = (typeof FORMATS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

export function isLogFormat(value: string): value is LogFormat {
  return (FORMATS as readonly string[]).includes(value);
}

const formatFromEnv = process.env.KLAXON_LOG_FORMAT;
let format: LogFormat = formatFromEnv !== undefined && isLogFormat(formatFromEnv) ? formatFromEnv : process.stderr.isTTY ? 'pretty' : 'json';

// Loaded on the first pretty line only: JSON (services, tests, pipes) does not pay for it at start.
let prettify: ((record: Record<string, unknown>) => string) | undefined;

/** A log line for a person: an error is its message (with the stack only from debug level on: it is for whoever debugs Klaxon). */
function pretty(line: string): string {
  prettify ??= prettyLines();
  const record = JSON.parse(line) as Record<string, unknown>;
  const err = record.err as { message?: unknown } | undefined;
  if (err !== undefined && !root.isLevelEnabled('debug')) {
    delete record.err;
    record.error = String(err.message ?? err);
  }
  return prettify(record);
}

function prettyLines(): (record: Record<string, unknown>) => string {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return prettyFactory({
    colorize: process.stderr.isTTY === true && process.env.NO_COLOR === undefined,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name,component',
    singleLine: true,
    // Only `err` (an Error, at debug level) gets lines of its own; an `error` message stays on the line.
    errorLikeObjectKeys: ['err'],
    // The CLI's own lines (failures, stopping) need no component.
    messageFormat: (log, messageKey) => {
      const message = String(log[messageKey] ?? '');
      return typeof log.component === 'string' && log.component !== 'cli' ? `${log.component}: ${message}` : message;
    },
  });
}

// Above the terminal's status line (progress), never on it.
const stderrLines: DestinationStream = {
  write(line: string) {
    const text = format === 'pretty' ? pretty(line) : line;
    terminal.printAbove(() => process.stderr.write(text));
  },
};

const levelFromEnv = process.env.KLAXON_LOG_LEVEL;
const root: Logger = pino(
  {
    name: 'klaxon',
    level: levelFromEnv !== undefined && isLogLevel(levelFromEnv) ? levelFromEnv : 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  stderrLines,
);

const components = new Map<string, Logger>();

/** The logger of one component; its lines carry `component`. */
export function logger(component: string): Logger {
  let child = components.get(component);
  if (child === undefined) {
    child = root.child({ component });
    components.set(component, child);
  }
  return child;
}

/** Sets the level of every logger, existing and future (children do not follow their parent's level by themselves). */
export function setLogLevel(level: LogLevel): void {
  root.level = level;
  for (const child of components.values()) child.level = level;
}

export function logLevel(): LogLevel {
  return root.level as LogLevel;
}

/** JSON lines for machines, or short lines for a person (the default on a terminal). */
export function setLogFormat(value: LogFormat): void {
  format = value;
}
