import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { checkRuleSets, type ParsedVersion, versionSchema, withDefaults } from '../config/rules-schema.js';
import type { Mode, Rule, RuleVersion, WindowConfig } from '../config/types.js';
import { validate } from '../config/validate.js';
import type { PublishedVersion } from '../model/rules-channel.js';

export type { PublishedVersion };

/**
 * Rule set versions as they travel (contract §7.5): published in the form a
 * person writes (durations as milliseconds, every rule's mode spelled out, so
 * that no engine's own top-level mode changes what a version means), read
 * back with the config's own schema and checks, against the window.
 */

export type Checked = { ok: true; version: RuleVersion } | { ok: false; issues: string[] };

export interface CheckOptions {
  window: WindowConfig;
  /** The mode of rules that do not set one (published versions always do). */
  mode: Mode;
  /** How to name the retained panes in a refusal: "window.retain is 301", or "the state retains 301". */
  retainLabel?: string;
}

/** Parses and checks one version (shape, then meaning against the window); issues name JSON paths inside it. */
export function checkVersion(raw: unknown, options: CheckOptions): Checked {
  const shape = validate(versionSchema, raw);
  if (!shape.ok) return shape;
  const issues: string[] = [];
  checkRuleSets([{ ...shape.value, effectiveFrom: 0 }], () => [], {
    paneMs: options.window.paneMs,
    retain: options.window.retain,
    defaultMode: options.mode,
    ...(options.retainLabel === undefined ? {} : { retainLabel: options.retainLabel }),
    issue: (path, _input, message) => issues.push(`/${path.join('/')}: ${message}`),
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, version: withModes(shape.value, options.mode) };
}

function withModes(version: ParsedVersion, mode: Mode): RuleVersion {
  return { ...version, rules: version.rules.map((rule) => withDefaults(rule, mode)) };
}

/** Why `next` cannot follow `versions` (undefined: it can): versions increase in number and effectiveFrom. */
export function cannotFollow(versions: readonly RuleVersion[], next: RuleVersion): string | undefined {
  const latest = versions.at(-1);
  if (latest === undefined) return next.effectiveFrom === 0 ? undefined : `the first version must start at 0, not ${next.effectiveFrom}`;
  if (next.version <= latest.version) return `version ${next.version} is not after the latest, ${latest.version}`;
  if (next.effectiveFrom <= latest.effectiveFrom) {
    return `its effectiveFrom ${iso(next.effectiveFrom)} is not after the latest version's (${latest.version}: ${iso(latest.effectiveFrom)})`;
  }
  return undefined;
}

/** Two versions mean the same (compared normalised, so "5m" and 300000 agree; when each was applied does not count). */
export function sameVersion(a: RuleVersion, b: RuleVersion): boolean {
  const { appliedAt: _a, ...x } = a;
  const { appliedAt: _b, ...y } = b;
  return isDeepStrictEqual(x, y);
}

/** The version in force at `ts`: the largest effectiveFrom ≤ ts. */
export function versionAt(versions: readonly RuleVersion[], ts: number): RuleVersion | undefined {
  let found: RuleVersion | undefined;
  for (const version of versions) if (version.effectiveFrom <= ts) found = version;
  return found;
}

/**
 * The versions an engine runs with: the config's (the bootstrap) up to the
 * channel's first, then the channel's. A channel that holds nothing leaves
 * the config's versions as they are.
 */
export function mergeVersions(bootstrap: readonly RuleVersion[], published: readonly RuleVersion[]): RuleVersion[] {
  const first = published[0];
  if (first === undefined) return [...bootstrap];
  return [...bootstrap.filter((v) => v.version < first.version && v.effectiveFrom < first.effectiveFrom), ...published];
}

/** A version back in the form a person writes: what `klaxon rules apply` publishes and `klaxon rules show` prints. */
export function publishedForm(version: RuleVersion, appliedAt?: Date): PublishedVersion {
  const applied = appliedAt?.toISOString() ?? version.appliedAt;
  return {
    version: version.version,
    effectiveFrom: version.effectiveFrom,
    rules: version.rules.map(inputRule),
    ...(applied === undefined ? {} : { appliedAt: applied }),
  };
}

const INPUT_NAMES: Record<string, string> = { forMs: 'for', spanMs: 'span', lagMs: 'lag' };

/** A normalised rule with its input names (durations stay milliseconds, which the schema takes), defaults written out but for `for: 0`. */
function inputRule(rule: Rule): Record<string, unknown> {
  const rename = (object: object) => Object.fromEntries(Object.entries(object).map(([key, value]) => [INPUT_NAMES[key] ?? key, value]));
  // `for` is written only where it holds something: a rule in mode every may not write it at all.
  const { overrides, forMs, ...rest } = rule;
  return { ...rename(rest), ...(forMs === 0 ? {} : { for: forMs }), ...(overrides.length > 0 ? { overrides: overrides.map(rename) } : {}) };
}

/** A version's input (what a person writes in a rules file), typed loosely: the schema decides. */
export type VersionInput = z.input<typeof versionSchema>;

export function iso(ms: number): string {
  return ms === 0 ? '0 (the beginning)' : new Date(ms).toISOString();
}
