import type { Logger } from 'pino';
import { describeError } from '../errors.js';

/**
 * Something that should keep happening (commits, snapshots) and has stopped,
 * said once when it stops and once when it resumes, however many attempts
 * fail or hang in between: an operator needs the fact and its length, not
 * every retry.
 */
export class Stall {
  private since: number | undefined;

  constructor(
    private readonly log: Logger,
    /** "commits are not going through", "snapshots are not being saved". */
    private readonly stopped: string,
    /** What still works meanwhile, and what the engine does about it. */
    private readonly meanwhile: string,
    /** "commits go through again". */
    private readonly resumed: string,
  ) {}

  get stalled(): boolean {
    return this.since !== undefined;
  }

  /** It failed, or has been running far too long. */
  stuck(error: unknown): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.log.warn({ err: error }, `${this.stopped} (${describeError(error)}): ${this.meanwhile}`);
  }

  /** It happened again. */
  ok(): void {
    if (this.since === undefined) return;
    this.log.info({ seconds: Math.round((Date.now() - this.since) / 1000) }, this.resumed);
    this.since = undefined;
  }
}
