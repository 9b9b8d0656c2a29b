import { describeError } from '../../errors.js';
import { logger } from '../../log.js';

const log = logger('kafka');

/**
 * One log line when Kafka stops answering and one when it answers again,
 * however many retries, reconnects and recoveries happen in between: an
 * operator wants to know that it happened and for how long, not every attempt.
 */
export class OutageLog {
  private since: number | undefined;

  /** Something failed because Kafka did not answer; logged only for the first failure of an outage. */
  failing(error: unknown, doing: string): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    log.warn({ err: error }, `Kafka is unreachable (${doing}: ${describeError(error)}): retrying until it answers; not ready meanwhile`);
  }

  /** Kafka answered again. */
  answering(): void {
    if (this.since === undefined) return;
    log.info({ outageSeconds: Math.round((Date.now() - this.since) / 1000) }, 'Kafka answers again');
    this.since = undefined;
  }

  get down(): boolean {
    return this.since !== undefined;
  }
}

/** The process's one account of Kafka outages (every Kafka client of the engine reports here). */
export const kafkaOutage = new OutageLog();
