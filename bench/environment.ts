import { execFileSync, execSync } from 'node:child_process';
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
    const git = (args: string) =>
      execSync(`git ${args}`, { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    commit = git('rev-parse --short HEAD');
    // An engine built from uncommitted sources is not the commit's: say so, or a before/after of HEAD and the work on it reads as one build twice.
    if (git('status --porcelain --untracked-files=no -- ../src ../workers') !== '') commit += '+changes';
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

/** Starts (or finds) the local Kafka, Redis and Redis Cluster through services/up.sh; the environment overrides their addresses. */
export function startServices(): { brokers: string[]; redisUrl: string; redisCluster: string[] } {
  const exports = execFileSync('bash', [join(BENCH_DIR, '../services/up.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  const exported = (name: string) => process.env[name] ?? new RegExp(`^export ${name}=(.+)$`, 'm').exec(exports)?.[1];
  return {
    brokers: (exported('KLAXON_KAFKA_BROKERS') ?? '127.0.0.1:19092').split(','),
    redisUrl: exported('KLAXON_REDIS_URL') ?? 'redis://127.0.0.1:16379',
    redisCluster: (exported('KLAXON_REDIS_CLUSTER') ?? '127.0.0.1:17001,127.0.0.1:17002,127.0.0.1:17003').split(','),
  };
}

/**
 * Runs a benchmark and always cleans up after it (topics, keys): on success,
 * failure or Ctrl-C. Then exits, because an engine left running by a failure
 * must not keep the process alive.
 */
export async function runBench(name: string, main: () => Promise<void>, cleanup: () => Promise<void>): Promise<never> {
  process.once('SIGINT', () => {
    process.stderr.write(`\n${name}: interrupted, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
  let exitCode = 0;
  try {
    await main();
  } catch (error) {
    process.stderr.write(`${name} failed: ${(error as Error).stack ?? error}\n`);
    exitCode = 1;
  } finally {
    await cleanup();
  }
  process.exit(exitCode);
}
