import type { KlaxonConfig } from '../config/types.js';
import type { RedisStateConfig } from '../config/types.js';
import { createSink, createSource, createStateStore } from '../io/factory.js';
import type { Sink, Source } from '../io/types.js';
import type { StateStore } from '../state/types.js';
import { Pipeline } from './pipeline.js';
import type { RunSummary } from './stats.js';

export interface EngineHooks {
  /** Called once the pipeline exists (progress lines, metrics). */
  onStart?(pipeline: Pipeline): void;
  /** Stop gracefully on SIGINT/SIGTERM (a second signal exits at once). Default true. */
  handleSignals?: boolean;
}

/** Runs one engine from a config: builds source, sinks and workers, runs to the end, tears down. */
export async function runEngine(config: KlaxonConfig, hooks: EngineHooks = {}): Promise<RunSummary> {
  const opened: Array<Source | Sink | StateStore> = [];
  let pipeline: Pipeline | undefined;
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    stopRequested = true;
    process.stderr.write(`\nklaxon: ${signal}: stopping (finishing in-flight work; again to exit at once)\n`);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.once('SIGINT', () => process.exit(130));
    process.once('SIGTERM', () => process.exit(143));
    // During start-up there is no pipeline yet: it stops as soon as it exists.
    pipeline?.stop();
  };
  if (hooks.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let failed = true;
  try {
    const alerts = await createSink(config.sink, 'alerts');
    opened.push(alerts);
    const deadLetters = await createSink(config.deadLetter, 'dead-letters');
    opened.push(deadLetters);
    const store = await createStateStore(config);
    if (store !== undefined) opened.push(store);
    const source = await createSource(config.source, config.engine);
    opened.push(source);
    pipeline = new Pipeline(config, {
      source,
      alerts,
      deadLetters,
      commitIntervalMs: config.source.type === 'kafka' ? config.source.commitIntervalMs : 100,
      keyIsZoneId: config.source.type === 'kafka' ? config.source.keyIsZoneId : true,
      ...(store === undefined ? {} : { store, snapshotIntervalMs: (config.state as RedisStateConfig).snapshotIntervalMs }),
    });
    hooks.onStart?.(pipeline);
    if (stopRequested) pipeline.stop();
    const summary = await pipeline.run();
    failed = false;
    return summary;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await pipeline?.close();
    // Close the source first, then the sinks. After a failure the run's own error is the one to report.
    for (const part of opened.reverse()) {
      await part.close().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }
}
