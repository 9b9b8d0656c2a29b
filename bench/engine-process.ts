/**
 * The engine as its own process, as it runs in production: `node
 * dist/src/cli/main.js run --config C` with the repo's cluster.config.json
 * pointed at a bench run's topics, group, instance id and Redis prefix. Its
 * pino log (stderr) goes to a file beside the config.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Guarantee } from '../src/config/types.js';
import { BENCH_DIR } from './environment.js';

export const REPO = resolve(BENCH_DIR, '..');

/** The repo's production config, as a plain object. */
export function baseConfig() {
  return JSON.parse(readFileSync(join(REPO, 'cluster.config.json'), 'utf8'));
}

export interface EngineConfigSpec {
  /** File name of the config (and of the engine's log): `dir/name.config.json`. */
  name: string;
  dir: string;
  brokers: string[];
  topics: { readings: string; alerts: string; dead: string };
  partitions: number;
  groupId: string;
  /** engine.instanceId: unique per process (the transactional id for exactly-once). */
  instanceId: string;
  workers: number;
  guarantee?: Guarantee;
  /** source.commitInterval (ms); the config's when absent. */
  commitIntervalMs?: number;
  /** Redis state under a prefix (snapshot interval in ms, the config's when absent), or state in memory. */
  state: { type: 'redis'; url: string; prefix: string; snapshotIntervalMs?: number } | { type: 'memory' };
  /** Delivery sinks (alertmanager, webhook) beside the alerts topic: the config then says `sinks`. */
  deliveries?: Array<Record<string, unknown>>;
  /** The config's `http` section (metrics), if any. */
  http?: Record<string, unknown>;
  /** More keys of the source section (e.g. fetchMinBytes, fetchMaxWait). */
  sourceOptions?: Record<string, unknown>;
  /** Engine settings over cluster.config.json's (batchSize, maxQueuePerWorker, …). */
  engineOptions?: Record<string, unknown>;
  /** Alerts sink settings over cluster.config.json's (linger, …). */
  sinkOptions?: Record<string, unknown>;
  /** More keys of the state section (e.g. maxZonesInMemory, cluster). */
  stateOptions?: Record<string, unknown>;
  /** Serve metrics on any free port (EngineProcess.metricsUrl says where). */
  metrics?: boolean;
}

function withoutUrl(state: Record<string, unknown>): Record<string, unknown> {
  const { url: _url, ...rest } = state;
  return rest;
}

/** cluster.config.json pointed at the spec's topics, group, instance and Redis prefix; returns its path. */
export function writeEngineConfig(spec: EngineConfigSpec): string {
  const { $schema: _, sink, ...base } = baseConfig();
  const brokers = spec.brokers.join(',');
  const alerts = { ...sink, brokers, topic: spec.topics.alerts, ...spec.sinkOptions };
  const state =
    spec.state.type === 'memory'
      ? { type: 'memory' }
      : {
          ...withoutUrl(base.state),
          // state.url and state.cluster exclude each other.
          ...(spec.stateOptions?.cluster === undefined ? { url: spec.state.url } : {}),
          prefix: spec.state.prefix,
          ...(spec.state.snapshotIntervalMs === undefined ? {} : { snapshotInterval: spec.state.snapshotIntervalMs }),
          ...spec.stateOptions,
        };
  const config = {
    ...base,
    ...(spec.guarantee === undefined ? {} : { guarantee: spec.guarantee }),
    engine: { ...base.engine, workers: spec.workers, instanceId: spec.instanceId, ...spec.engineOptions },
    // fromBeginning: readings may be in the topic before the group has offsets.
    source: {
      ...base.source,
      brokers,
      topic: spec.topics.readings,
      groupId: spec.groupId,
      partitions: spec.partitions,
      fromBeginning: true,
      ...(spec.commitIntervalMs === undefined ? {} : { commitInterval: spec.commitIntervalMs }),
      ...spec.sourceOptions,
    },
    ...(spec.deliveries === undefined ? { sink: alerts } : { sinks: [alerts, ...spec.deliveries] }),
    ...(spec.http === undefined && !spec.metrics ? {} : { http: { ...(spec.metrics ? { port: 0 } : {}), ...spec.http } }),
    deadLetter: { ...base.deadLetter, brokers, topic: spec.topics.dead },
    state,
  };
  mkdirSync(spec.dir, { recursive: true });
  const path = join(spec.dir, `${spec.name}.config.json`);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

export interface EngineProcess {
  pid: number;
  logPath: string;
  /** Resolves when it logs "engine started" (group joined, pipeline up); rejects if it exits first. */
  started: Promise<void>;
  /** With metrics on: its /metrics address, once it logs "http listening". */
  metricsUrl: Promise<string>;
  exited: boolean;
  /** SIGTERM (graceful: drain, final checkpoint); resolves with its closing summary line, or what went wrong. */
  stop(): Promise<string>;
  kill(): void;
}

/** How to start an engine other than this checkout's as it is: another build (a checkout of another commit, built), Node flags. */
export interface EngineLaunch {
  /** The checkout whose dist/ runs (default: this one). */
  root?: string;
  /** Flags for node before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** What runs in the engine's place, before `--config` (default: Klaxon's `run`): the latency bench's relay. */
  command?: string[];
}

/** Starts `klaxon run --config configPath`; the child is kept in `children` while it runs, for the bench's clean-up. */
export function startEngine(configPath: string, children: Set<ChildProcess>, launch: EngineLaunch = {}): EngineProcess {
  const logPath = configPath.replace(/\.config\.json$/, '.engine.log');
  const logFile = createWriteStream(logPath);
  const root = launch.root ?? REPO;
  const command = launch.command ?? [join(root, 'dist/src/cli/main.js'), 'run'];
  const child = spawn(process.execPath, [...(launch.nodeArgs ?? []), ...command, '--config', configPath], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  // Its stdout goes to the log too: Node's tracing flags (--trace-gc) print there.
  child.stdout?.on('data', (chunk: Buffer) => logFile.write(chunk));
  let listening: (url: string) => void = () => {};
  const engine: EngineProcess = {
    pid: child.pid as number,
    logPath,
    started: Promise.resolve(),
    metricsUrl: new Promise((resolveUrl) => (listening = resolveUrl)),
    exited: false,
    stop: async () => '',
    kill: () => {},
  };
  let summary = '';
  let partial = '';
  const exit = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => {
      engine.exited = true;
      children.delete(child);
      logFile.end();
      resolveExit(code);
    }),
  );
  engine.started = new Promise<void>((resolveStart, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      logFile.write(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('klaxon: ') && / records? \(/.test(line)) summary = line;
        if (line.includes('"engine started"')) resolveStart();
        if (line.includes('"http listening"')) listening(`${(JSON.parse(line) as { url: string }).url.replace(/\/$/, '')}/metrics`);
      }
    });
    void exit.then((code) => reject(new Error(`the engine exited (${code}) before it started; see ${logPath}`)));
  });
  // A stop that fails is reported with the run, not thrown: what was measured before it still stands.
  engine.stop = async () => {
    child.kill('SIGTERM');
    const code = await Promise.race([exit, sleep(30_000, 'timeout' as const)]);
    if (code === 'timeout') {
      child.kill('SIGKILL');
      return `did not stop within 30 s of SIGTERM (killed); see ${logPath}`;
    }
    return code === 0 ? summary : `exited with ${code}; see ${logPath}`;
  };
  engine.kill = () => {
    if (!engine.exited) child.kill('SIGKILL');
  };
  return engine;
}

/** Counts in the engine's closing line ("klaxon: N records (…), M alerts (…)"), or undefined if it has none. */
export function summaryCounts(summary: string): { records: number; alerts: number } | undefined {
  const match = /^klaxon: ([\d,]+) records? .*?, ([\d,]+) alerts? written /.exec(summary);
  const count = (text: string | undefined) => Number(text?.replaceAll(',', ''));
  return match === null ? undefined : { records: count(match[1]), alerts: count(match[2]) };
}

/** Resident memory of a process (VmRSS), in bytes; NaN if it is gone. */
export function residentBytes(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}
