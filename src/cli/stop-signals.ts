import { logger } from '../log.js';

/**
 * SIGINT/SIGTERM, caught from the first line of the CLI: the first asks for a
 * graceful stop by aborting `stopRequested` (an engine started later sees it
 * already aborted and stops at once instead of being killed half-built), the
 * second exits at once.
 */
const controller = new AbortController();

export const stopRequested: AbortSignal = controller.signal;

export function installStopSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
      logger('cli').info({ signal }, 'stopping: finishing in-flight work (again to exit at once)');
      controller.abort();
    });
  }
}
