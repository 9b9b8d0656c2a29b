import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config/types.js';

/**
 * Klaxon's structured logs: JSON lines on stderr (pino), one logger per
 * component (`logger('kafka-source')`). Nothing logs per reading: a line is
 * an event an operator may act on (start, stop, assignment, retry, failure),
 * with its context as fields (partition, offset, zone) rather than in the text.
 *
 * The level comes from the config's `log.level`, `--log-level` or, before
 * either is read, KLAXON_LOG_LEVEL (default info); setLogLevel changes every
 * component's logger at once.
 */

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

// On a terminal the progress line (no newline, redrawn each second) may be showing: clear it so a log line starts clean.
const stderrLines: DestinationStream = {
  write(line: string) {
    process.stderr.write(process.stderr.isTTY ? `\r\u001b[2K${line}` : line);
  },
};

const fromEnv = process.env.KLAXON_LOG_LEVEL;
const root: Logger = pino(
  {
    name: 'klaxon',
    level: fromEnv !== undefined && isLogLevel(fromEnv) ? fromEnv : 'info',
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
