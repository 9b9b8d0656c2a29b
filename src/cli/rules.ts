import { readFileSync } from 'node:fs';
import { parseDuration } from '../config/durations.js';
import { loadConfigFile } from '../config/load.js';
import type { KlaxonConfig } from '../config/types.js';
import { LiveRules } from '../coordinator/live-rules.js';
import { ConfigError, UsageError } from '../errors.js';
import { openRulesChannel, type RulesChannel } from '../rules/channel.js';
import { describeChange } from '../rules/diff.js';
import { cannotFollow, checkVersion, iso, publishedForm, versionAt } from '../rules/versions.js';
import { openStateStore } from '../state/factory.js';
import type { StoredWindow } from '../state/types.js';

/** How far ahead of now a version takes effect unless told: every engine has it before readings of its time arrive. */
const DEFAULT_LEAD_MS = 10_000;

export interface ApplyOptions {
  config: string;
  rules: string;
  effectiveFrom?: string;
  version?: number;
  dryRun?: boolean;
}

/**
 * `klaxon rules apply`: checks a new version of the rule set like the config
 * is checked, refuses one the state cannot serve ("needs 600 panes, the
 * state retains 301"), prints what it changes against the latest version,
 * and publishes it to the deployment's rules channel, by default in force
 * from now plus a lead.
 */
export async function rulesApplyCommand(options: ApplyOptions, now = Date.now()): Promise<void> {
  const config = loadConfigFile(options.config);
  const input = readVersionInput(options.rules);
  const effectiveFrom = options.effectiveFrom !== undefined ? parseEffectiveFrom(options.effectiveFrom, now) : (input.effectiveFrom ?? now + DEFAULT_LEAD_MS);
  const { window, zones } = await stateView(config);
  await withChannel(config, async (channel, records) => {
    const current = LiveRules.fromChannel(config, records, channel.name).versions;
    const latest = current.at(-1);
    const checked = checkVersion(
      { version: options.version ?? input.version ?? (latest?.version ?? 0) + 1, effectiveFrom, rules: input.rules },
      { window, mode: config.mode, retainLabel: `the state retains ${window.retain}` },
    );
    if (!checked.ok) throw new ConfigError(checked.issues.map((issue) => `${options.rules}: ${issue}`));
    const version = checked.version;
    const refusal = cannotFollow(current, version);
    if (refusal !== undefined) throw new UsageError(`version ${version.version} cannot be applied: ${refusal}`);
    const lead = version.effectiveFrom - now;
    const out: string[] = [
      `version ${version.version}, in force from ${iso(version.effectiveFrom)} (${lead >= 0 ? `in ${formatSeconds(lead)}` : `${formatSeconds(-lead)} ago: readings of that time already evaluated keep their alerts, and engines count the version late`})`,
      `changes against version ${latest?.version ?? '(none)'}:`,
      ...describeChange(latest, version, zones),
    ];
    if (options.dryRun) out.push(`dry run: nothing published to the ${channel.name}`);
    else {
      // An empty channel holds what the engines run with first (the config's versions), so that it is the whole rule set.
      const bootstrap = records.length === 0 && channel.bootstrapsFromConfig ? current.map((v) => publishedForm(v)) : [];
      await channel.publish([...bootstrap, publishedForm(version, new Date(now))]);
      const first = current.length === 1 ? `version ${current[0]?.version}` : `versions ${current.map((v) => v.version).join(', ')}`;
      out.push(`published to the ${channel.name}${bootstrap.length > 0 ? ` (after the config's ${first}, which it did not hold yet)` : ''}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  });
}

/** `klaxon rules list`: every version of the deployment's rule set, the one in force now marked. */
export async function rulesListCommand(options: { config: string }, now = Date.now()): Promise<void> {
  const config = loadConfigFile(options.config);
  await withChannel(config, async (channel, records) => {
    const versions = LiveRules.fromChannel(config, records, channel.name).versions;
    const inForce = versionAt(versions, now);
    const lines = versions.map((v) => {
      const marks = [v === inForce ? 'in force now' : '', v === versions.at(-1) ? 'latest' : '', v.effectiveFrom > now ? 'pending' : ''].filter(Boolean);
      const rules = v.rules.map((rule) => `${rule.id}${rule.shadow ? ' (shadow)' : ''}`).join(', ');
      return `${String(v.version).padStart(4)}  from ${iso(v.effectiveFrom).padEnd(24)}  ${v.rules.length} rules: ${rules}${marks.length > 0 ? `  [${marks.join(', ')}]` : ''}`;
    });
    process.stdout.write(
      `rule set of ${records.length > 0 ? `the ${channel.name}` : `${options.config} (its ${channel.name} holds no version)`}:\n${lines.join('\n')}\n`,
    );
  });
}

/** `klaxon rules show [VERSION]`: one version as a rules file would hold it (default: the one in force now). */
export async function rulesShowCommand(wanted: number | undefined, options: { config: string }, now = Date.now()): Promise<void> {
  const config = loadConfigFile(options.config);
  await withChannel(config, async (channel, records) => {
    const versions = LiveRules.fromChannel(config, records, channel.name).versions;
    const version = wanted === undefined ? versionAt(versions, now) : versions.find((v) => v.version === wanted);
    if (version === undefined) throw new UsageError(`no version ${wanted} (known: ${versions.map((v) => v.version).join(', ')})`);
    process.stdout.write(`${JSON.stringify(publishedForm(version), null, 2)}\n`);
  });
}

async function withChannel(config: KlaxonConfig, work: (channel: RulesChannel, records: unknown[]) => Promise<void>): Promise<void> {
  const channel = await openRulesChannel(config);
  try {
    await work(channel, await channel.load());
  } finally {
    await channel.close();
  }
}

/** The window the deployment's state has (the config's, unless snapshots say otherwise) and the zones the snapshots hold. */
async function stateView(config: KlaxonConfig): Promise<{ window: KlaxonConfig['window']; zones: string[] | undefined }> {
  const store = await openStateStore(config);
  if (store === undefined) return { window: config.window, zones: undefined };
  try {
    const stored: StoredWindow | null = await store.storedWindow();
    if (stored !== null && (stored.size !== config.window.size || stored.paneMs !== config.window.paneMs || stored.retain !== config.window.retain)) {
      throw new UsageError(
        `the state was made with window size ${stored.size}, pane ${stored.paneMs} ms, retain ${stored.retain} panes; this config has size ${config.window.size}, pane ${config.window.paneMs} ms, retain ${config.window.retain}: apply with the deployment's own config`,
      );
    }
    return { window: config.window, zones: await store.zoneIds() };
  } finally {
    await store.close();
  }
}

interface VersionInput {
  rules: unknown;
  version?: number;
  effectiveFrom?: number;
}

/** A rules file for `apply`: `{"rules": [...]}` (optionally with `version`, `effectiveFrom`), or a bare list of rules. */
function readVersionInput(path: string): VersionInput {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`${path}: cannot read the rules (${error instanceof Error ? error.message : String(error)})`);
  }
  if (Array.isArray(content)) return { rules: content };
  if (content === null || typeof content !== 'object' || !('rules' in content)) {
    throw new UsageError(`${path}: expected {"rules": [...]} (optionally with "version" and "effectiveFrom"), or a list of rules`);
  }
  const { rules, version, effectiveFrom, ...others } = content as Record<string, unknown>;
  const unknown = Object.keys(others);
  if (unknown.length > 0)
    throw new UsageError(`${path}: unknown key ${unknown.map((key) => `"${key}"`).join(', ')} (a version holds rules, version, effectiveFrom)`);
  return {
    rules,
    ...(typeof version === 'number' ? { version } : {}),
    ...(typeof effectiveFrom === 'number' ? { effectiveFrom } : {}),
  };
}

/** `now`, `+30s` (now plus a duration), an ISO date, or milliseconds since the epoch. */
export function parseEffectiveFrom(value: string, now: number): number {
  if (value === 'now') return now;
  if (value.startsWith('+')) {
    const lead = parseDuration(value.slice(1));
    if (lead !== undefined) return now + lead;
  } else if (/^\d+$/.test(value)) {
    return Number(value);
  } else {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`--effective-from ${value}: expected now, +DURATION (such as +30s), an ISO date or milliseconds since the epoch`);
}

function formatSeconds(ms: number): string {
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}
