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

/** A person-readable one-liner for any thrown value, including its causes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': caused by: ');
}
