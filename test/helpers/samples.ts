import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseNdjson } from './run-engine.js';

/** The contract's sample streams, kept in the repo (test/fixtures/README.md says where they come from). */
export const SAMPLES_DIR = resolve(import.meta.dirname, '../../../test/fixtures/samples');

export const SAMPLE_NAMES = ['sample-a', 'sample-b', 'sample-c', 'sample-v2'] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

export interface Sample {
  /** The rules part of a config: `window`, `mode`, `rules` (or, v2, `versions`). */
  rules: Record<string, unknown>;
  /** readings.ndjson, one line each, without the newline. */
  lines: string[];
  /** Every alert the contract produces for the readings. */
  alerts: Array<Record<string, unknown>>;
  /** The 1-based line numbers that must become dead letters, ascending. */
  deadLines: number[];
}

/** One file of a sample as text, read from `file` or, if that is absent, from `file.gz`. */
export async function readSampleFile(name: SampleName, file: string): Promise<string> {
  const plain = join(SAMPLES_DIR, name, file);
  if (existsSync(plain)) return readFile(plain, 'utf8');
  return gunzipSync(await readFile(`${plain}.gz`)).toString('utf8');
}

/** Reads a whole sample, gzipped files or not. */
export async function readSample(name: SampleName): Promise<Sample> {
  const [rules, readings, alerts, deadLetters] = await Promise.all(
    ['rules.json', 'readings.ndjson', 'alerts.ndjson', 'dead-letters.ndjson'].map((file) => readSampleFile(name, file)),
  );
  const lines = (readings as string).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return {
    rules: JSON.parse(rules as string) as Record<string, unknown>,
    lines,
    alerts: parseNdjson(alerts as string),
    deadLines: parseNdjson(deadLetters as string)
      .map((d) => d.line as number)
      .sort((a, b) => a - b),
  };
}
