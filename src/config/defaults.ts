import { availableParallelism, hostname } from 'node:os';

// The two defaults that depend on the machine or the process, so they cannot be
// written into the published schema; every other default is declared in schema.ts.

/** engine.workers when absent: one worker thread per available core. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** engine.instanceId when absent: KLAXON_INSTANCE_ID, else `klaxon-<hostname>`. */
export function defaultInstanceId(env: NodeJS.ProcessEnv = process.env): string {
  return env.KLAXON_INSTANCE_ID || `klaxon-${hostname()}`;
}
