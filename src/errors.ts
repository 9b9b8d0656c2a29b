/**
 * Klaxon's error taxonomy. Callers branch on `code` and `retriable`, never on
 * message text. Errors cross worker threads as plain objects (see `toPlain`).
 */
export const ErrorCodes = {
  CONFIG: 'KLAXON_CONFIG',
  USAGE: 'KLAXON_USAGE',
  SOURCE: 'KLAXON_SOURCE',
  SINK: 'KLAXON_SINK',
  STATE: 'KLAXON_STATE',
  WORKER: 'KLAXON_WORKER',
  UNREACHABLE: 'KLAXON_UNREACHABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface KlaxonErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class KlaxonError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: KlaxonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }

  /** Process exit code for this error: 2 for bad config or usage, 1 otherwise. */
  get exitCode(): number {
    return this.code === ErrorCodes.CONFIG || this.code === ErrorCodes.USAGE ? 2 : 1;
  }
}

/** A config file that cannot be used. `issues` name JSON paths, e.g. `/rules/2/span`. */
export class ConfigError extends KlaxonError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], options: KlaxonErrorOptions = {}) {
    super(ErrorCodes.CONFIG, `invalid config:\n  ${issues.join('\n  ')}`, options);
    this.issues = issues;
  }
}

export class UsageError extends KlaxonError {
  constructor(message: string) {
    super(ErrorCodes.USAGE, message);
  }
}

export class SourceError extends KlaxonError {
  constructor(message: string, options: KlaxonErrorOptions = {}) {
    super(ErrorCodes.SOURCE, message, options);
  }
}

export class SinkError extends KlaxonError {
  constructor(message: string, options: KlaxonErrorOptions = {}) {
    super(ErrorCodes.SINK, message, options);
  }
}

export class StateError extends KlaxonError {
  constructor(message: string, options: KlaxonErrorOptions = {}) {
    super(ErrorCodes.STATE, message, options);
  }
}

export class WorkerError extends KlaxonError {
  constructor(message: string, options: KlaxonErrorOptions = {}) {
    super(ErrorCodes.WORKER, message, options);
  }
}

/** The services Klaxon connects to, and what to do when one does not answer. */
const SERVICE_HINTS = {
  Kafka: 'start the local services with `npm run services:up`, or set KLAXON_KAFKA_BROKERS to your brokers',
  Redis: 'start the local services with `npm run services:up`, or set KLAXON_REDIS_URL to your Redis',
  'Redis Cluster': "start the local services with `npm run services:up` (a Redis Cluster among them), or set KLAXON_REDIS_CLUSTER to your cluster's nodes",
} as const;

/**
 * A service (Kafka, Redis) that did not answer within `connectTimeout` at
 * start. Only at start: once connected, an outage is retried and waited out.
 */
export class UnreachableError extends KlaxonError {
  readonly service: keyof typeof SERVICE_HINTS;
  readonly address: string;
  /** Where the address came from: config keys (`source.brokers`) or a command-line flag. */
  readonly namedBy: readonly string[];

  constructor(service: keyof typeof SERVICE_HINTS, address: string, namedBy: readonly string[], timeoutMs: number, options: KlaxonErrorOptions = {}) {
    const within = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(timeoutMs / 1000);
    super(ErrorCodes.UNREACHABLE, `cannot reach ${service} at ${address} (${namedBy.join(', ')}) within ${within} s: ${SERVICE_HINTS[service]}`, {
      retriable: true,
      ...options,
    });
    this.service = service;
    this.address = address;
    this.namedBy = namedBy;
  }
}

/** A person-readable one-liner for any thrown value, including its causes. */
export function describeError(error: unknown): string {
  return [messageOf(error), ...causesOf(error)].join(': caused by: ');
}

/**
 * The messages of an error's causes, outermost first, leaving out those that
 * only repeat the message before them (kafkajs wraps a connection error in
 * errors that quote it).
 */
export function causesOf(error: unknown): string[] {
  const causes: string[] = [];
  let previous = messageOf(error);
  let current = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = messageOf(current);
    if (!previous.includes(message)) causes.push(message);
    previous = message;
    current = current instanceof Error ? current.cause : undefined;
  }
  return causes;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
