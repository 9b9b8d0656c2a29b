import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO } from './engine-process.js';
import { environment } from './environment.js';

/**
 * One build of Klaxon a bench runs the engine from: a checkout (built), with
 * Node flags and engine settings for its processes, so that two commits, or
 * one commit two ways, are measured in turns on the same backlog.
 */
export interface BuildSpec {
  /** The checkout's root (REPO for `.`). */
  root: string;
  /** Node flags for the engine's processes (`--max-semi-space-size=64`). */
  nodeFlags: string[];
  /** Engine settings over cluster.config.json's (`engine.batchSize=4000` → { batchSize: 4000 }). */
  engineOptions: Record<string, number>;
  /** Alerts sink settings over cluster.config.json's (`sink.linger=5ms` → { linger: '5ms' }). */
  sinkOptions: Record<string, string>;
  /** The commit, then what was added: how results name the build. */
  label: string;
}

/**
 * `--builds` of the benches: checkouts separated by commas, each with
 * anything after a `+` — a Node flag (`--…`), an engine setting
 * (`engine.batchSize=4000`) or an alerts sink setting (`sink.linger=5ms`):
 * `/tmp/base,.,.+engine.batchSize=4000`.
 */
export function parseBuilds(list: string): BuildSpec[] {
  return list.split(',').map((spec) => {
    const [checkout = '.', ...extras] = spec.split('+');
    const root = checkout === '.' ? REPO : resolve(checkout);
    const engineOptions = settingsOf(extras, 'engine', (value) => (Number.isFinite(Number(value)) ? Number(value) : undefined), '<number>');
    const sinkOptions = settingsOf(extras, 'sink', (value) => (value === '' ? undefined : value), '<value>');
    const nodeFlags = extras.filter((extra) => !extra.startsWith('engine.') && !extra.startsWith('sink.'));
    return { root, nodeFlags, engineOptions, sinkOptions, label: [commitOf(root), ...extras].join(' ') };
  });
}

/** A build's `<section>.<setting>=<value>` extras of one section, parsed; a value `parse` refuses stops with the setting named. */
function settingsOf<T>(extras: readonly string[], section: string, parse: (value: string) => T | undefined, expected: string): Record<string, T> {
  const settings = extras.filter((extra) => extra.startsWith(`${section}.`));
  return Object.fromEntries(
    settings.map((setting) => {
      const [key = '', value = ''] = setting.slice(section.length + 1).split('=');
      const parsed = parse(value);
      if (key === '' || parsed === undefined) throw new Error(`--builds: "${setting}" is not ${section}.<setting>=${expected}`);
      return [key, parsed];
    }),
  );
}

/** The commit a checkout was built from: its .commit file (written when it was made), else git's for this repo. */
export function commitOf(root: string): string {
  try {
    return readFileSync(join(root, '.commit'), 'utf8').trim();
  } catch {
    return root === REPO ? String(environment().commit) : root;
  }
}
