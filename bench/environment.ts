import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

/** bench/ in the repo (this file runs from dist/bench). */
export const BENCH_DIR = resolve(import.meta.dirname, '../../bench');
export const OUT_DIR = join(BENCH_DIR, 'out');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** What a result was measured on, stored beside the figures. */
export function environment(): Record<string, unknown> {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {}
  return {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

export function writeResult(name: string, result: unknown, markdown: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), markdown);
}

/** A Markdown table from rows of equal keys. */
export function table(rows: Array<Record<string, string | number>>): string {
  const first = rows[0];
  if (first === undefined) return '';
  const keys = Object.keys(first);
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(keys), line(keys.map(() => '---')), ...rows.map((row) => line(keys.map((k) => row[k] ?? '')))].join('\n');
}
