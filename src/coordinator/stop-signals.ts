/**
 * SIGINT/SIGTERM, caught from the first line of the CLI: the first asks for a
 * graceful stop (whoever is running subscribes with onStop, also after the
 * signal came), the second exits at once. A signal during start-up therefore
 * stops the engine as soon as it exists instead of killing it half-built.
 */
let requested: NodeJS.Signals | undefined;
const listeners = new Set<() => void>();

export function installStopSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (requested !== undefined) process.exit(signal === 'SIGINT' ? 130 : 143);
      requested = signal;
      process.stderr.write(`\nklaxon: ${signal}: stopping (finishing in-flight work; again to exit at once)\n`);
      for (const listener of listeners) listener();
    });
  }
}

/** Calls `listener` on a stop request (at once if one came already); returns the unsubscribe. */
export function onStop(listener: () => void): () => void {
  if (requested !== undefined) queueMicrotask(listener);
  listeners.add(listener);
  return () => listeners.delete(listener);
}
