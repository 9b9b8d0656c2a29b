import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { runEngine } from '../../src/coordinator/engine.js';
import type { RunSummary } from '../../src/coordinator/stats.js';

/** A temp folder removed after the test. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'klaxon-test-'));
  // Retries: a process that has just stopped may still be writing into it (ENOTEMPTY), and a
  // throwing after-hook skips every hook added after it.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  return dir;
}

export interface EngineOutput {
  alerts: Array<Record<string, unknown>>;
  /** What the shadow sink got: the alerts of shadow rules. */
  shadow: Array<Record<string, unknown>>;
  deadLetters: Array<{ reason: string; raw: string; source: { file: string; line: number } }>;
  summary: RunSummary;
}

/**
 * Runs the real engine (worker threads and all) over an NDJSON file with the
 * given rules part of a config (`window`, `mode`, `rules` or `versions`),
 * file in and out (shadow alerts to a file of their own).
 */
export async function runOnFile(t: TestContext, input: string, rules: Record<string, unknown>, engine: Record<string, unknown> = {}): Promise<EngineOutput> {
  const dir = await tempDir(t);
  const config = parseConfig(
    {
      engine,
      source: { type: 'file', path: input },
      sink: { type: 'file', path: 'alerts.ndjson' },
      deadLetter: { type: 'file', path: 'dead-letters.ndjson' },
      shadowSink: { type: 'file', path: 'shadow.ndjson' },
      ...rules,
    },
    { baseDir: dir },
  );
  const summary = await runEngine(config);
  return {
    alerts: await readNdjson(join(dir, 'alerts.ndjson')),
    shadow: await readNdjson(join(dir, 'shadow.ndjson')),
    deadLetters: (await readNdjson(join(dir, 'dead-letters.ndjson'))) as EngineOutput['deadLetters'],
    summary,
  };
}

export async function runOnLines(
  t: TestContext,
  lines: readonly string[],
  rules: Record<string, unknown>,
  engine: Record<string, unknown> = {},
): Promise<EngineOutput> {
  const dir = await tempDir(t);
  const input = join(dir, 'readings.ndjson');
  await writeFile(input, lines.map((l) => `${l}\n`).join(''));
  return runOnFile(t, input, rules, engine);
}

export async function readNdjson(path: string): Promise<Array<Record<string, unknown>>> {
  return parseNdjson(await readFile(path, 'utf8'));
}

/** One JSON object a line; empty lines are skipped. */
export function parseNdjson(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
