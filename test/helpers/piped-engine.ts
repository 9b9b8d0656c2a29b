import { execFileSync } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { KlaxonConfig } from '../../src/config/types.js';
import type { RunningEngine } from '../../src/coordinator/engine.js';
import { runEngine } from '../../src/coordinator/engine.js';
import type { RunSummary } from '../../src/coordinator/stats.js';
import { startObservability } from '../../src/observe/observe.js';
import { tempDir } from './run-engine.js';

export interface PipedEngine {
  config: KlaxonConfig;
  observe: Awaited<ReturnType<typeof startObservability>>;
  /** Starts the engine; the test then writes readings into the pipe when it likes. */
  start(): { readings: WriteStream; pipeline: () => RunningEngine | undefined; finished: Promise<RunSummary> };
}

/**
 * An engine reading a named pipe, with its observability (metrics, health,
 * dashboard as `settings.http` says): the test decides when each reading
 * arrives, and the engine keeps running while the test looks at it. It is
 * stopped, whatever happened, when the test ends.
 */
export async function pipedEngine(t: TestContext, settings: Record<string, unknown>): Promise<PipedEngine> {
  const dir = await tempDir(t);
  const fifo = join(dir, 'readings.fifo');
  execFileSync('mkfifo', [fifo]);
  const config = parseConfig(
    {
      engine: { workers: 2, batchSize: 1 },
      source: { type: 'file', path: fifo },
      sink: { type: 'file', path: 'alerts.ndjson' },
      deadLetter: { type: 'file', path: 'dead-letters.ndjson' },
      ...settings,
    },
    { baseDir: dir },
  );
  const observe = await startObservability(config);
  t.after(() => observe.stop());
  return {
    config,
    observe,
    start() {
      let pipeline: RunningEngine | undefined;
      const run = runEngine(config, {
        onStart: (p) => {
          pipeline = p;
          observe.onStart(p);
        },
        onAlerts: observe.onAlerts,
        onShadowAlerts: observe.onShadowAlerts,
      });
      // Read-write, so opening never blocks on the engine's end of the pipe (a failed start must not hang the test).
      const readings = createWriteStream(fifo, { flags: 'r+' });
      t.after(async () => {
        pipeline?.stop();
        readings.destroy();
        await run.catch(() => {});
      });
      return { readings, pipeline: () => pipeline, finished: run };
    },
  };
}
