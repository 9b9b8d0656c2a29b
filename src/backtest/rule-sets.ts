import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseConfig } from '../config/load.js';
import type { Mode, RuleVersion, WindowConfig } from '../config/types.js';
import { ConfigError, UsageError } from '../errors.js';

/**
 * The rule sets a backtest compares, read from files: the rules part of a
 * config (`{"rules": [...]}` or `{"versions": [...]}`, optionally with
 * `window` and `mode`: what a sample's rules.json or a rulesFile holds), a
 * published version (what `klaxon rules show` prints: its rules, in force
 * for the whole backtest), or a bare list of rules. Each is checked with the
 * config's own schema and checks, naming the file and the path of every
 * problem (exit 2).
 */
export interface RuleSetFile {
  file: string;
  /** The rule set part of a config, as written. */
  part: Record<string, unknown>;
}

/** Both rule sets over one window: a backtest keeps one set of statistics for both (contract §7.1). */
export interface ComparedRuleSets {
  window: WindowConfig;
  candidate: RuleVersion[];
  baseline: RuleVersion[] | undefined;
}

const PART_KEYS = new Set(['$schema', 'window', 'mode', 'rules', 'versions']);
/** What a published version holds besides its rules: when it was in force in the deployment, which a backtest does not use. */
const VERSION_KEYS = new Set(['version', 'effectiveFrom', 'appliedAt']);

export function readRuleSetFile(file: string): RuleSetFile {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: cannot read the rules (${error instanceof Error ? error.message : String(error)})`);
  }
  if (Array.isArray(content)) return { file, part: { rules: content } };
  if (content === null || typeof content !== 'object') {
    throw new UsageError(`${file}: expected {"rules": [...]} or {"versions": [...]} (optionally with "window" and "mode"), or a list of rules`);
  }
  const part: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(content)) {
    if (PART_KEYS.has(key)) part[key] = value;
    else if (!VERSION_KEYS.has(key)) unknown.push(key);
  }
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((key) => `${file}: /${key}: unknown key (a rules file holds "rules" or "versions", and optionally "window" and "mode")`));
  }
  return { file, part };
}

/** The window as a config writes it, from a normalised one (so that parsing it again gives the same). */
function windowInput(window: WindowConfig): Record<string, number> {
  return { size: window.size, pane: window.paneMs, retain: window.retain };
}

interface Parsed {
  window: WindowConfig;
  versions: RuleVersion[];
}

/** One rule set file checked like a config's rules, over `window` (as written) and with `mode` for rules that set none. */
function parseRuleSet({ file, part }: RuleSetFile, window: unknown, mode: Mode | undefined): Parsed {
  try {
    const config = parseConfig(
      { source: { type: 'stdin' }, sink: { type: 'stdout' }, ...(mode === undefined ? {} : { mode }), ...part, ...(window === undefined ? {} : { window }) },
      { baseDir: '/' },
    );
    return { window: config.window, versions: config.versions };
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.issues.map((issue) => `${file}: ${issue}`));
    throw error;
  }
}

/** The window a file states, normalised (undefined: it states none). */
function statedWindow(rules: RuleSetFile, mode: Mode | undefined): WindowConfig | undefined {
  if (rules.part.window === undefined) return undefined;
  return parseRuleSet(rules, rules.part.window, mode).window;
}

function sameWindow(stated: WindowConfig, window: WindowConfig, retainStated: boolean): boolean {
  return stated.size === window.size && stated.paneMs === window.paneMs && (!retainStated || stated.retain === window.retain);
}

function describeWindow(window: WindowConfig): string {
  return `size ${window.size}, pane ${window.paneMs} ms, retain ${window.retain} panes`;
}

/**
 * Both rule sets over one window: the deployment's (`deployment`, from its
 * config: fixed for its state, so a rule set needing more panes is refused
 * as `klaxon rules apply` would refuse it), else the one a file states
 * (the candidate's first), else the defaults. Without a retain stated
 * anywhere, R is the most either rule set's first version needs. A file
 * stating another window is refused: one set of statistics serves both.
 */
export function compareRuleSets(
  candidate: RuleSetFile,
  baseline: RuleSetFile | RuleVersion[] | undefined,
  deployment: { window: WindowConfig; mode: Mode } | undefined,
): ComparedRuleSets {
  const mode = deployment?.mode;
  const files = [candidate, ...(baseline !== undefined && !Array.isArray(baseline) ? [baseline] : [])];
  const stated = files.map((file) => ({ file, window: statedWindow(file, mode) }));
  let window: WindowConfig;
  let retainStated = true;
  if (deployment !== undefined) {
    window = deployment.window;
  } else {
    const first = stated.find((s) => s.window !== undefined);
    const input = first === undefined ? {} : (first.file.part.window as Record<string, unknown>);
    retainStated = first !== undefined && (first.file.part.window as Record<string, unknown>).retain !== undefined;
    if (retainStated) window = parseRuleSet(candidate, input, mode).window;
    else {
      // The most either rule set needs: each parsed alone with the window as written, retain by default.
      const needs = files.map((file) => parseRuleSet(file, input, mode).window);
      window = { ...(needs[0] as WindowConfig), retain: Math.max(...needs.map((w) => w.retain)) };
    }
  }
  for (const { file, window: own } of stated) {
    const ownRetain = (file.part.window as Record<string, unknown> | undefined)?.retain !== undefined;
    if (own !== undefined && !sameWindow(own, window, ownRetain)) {
      throw new UsageError(
        `${file.file}: its window (${describeWindow(own)}) is not the backtest's (${describeWindow(window)}${deployment === undefined ? '' : ", the deployment's"}): both rule sets are evaluated over one set of zone statistics`,
      );
    }
  }
  // Each file parsed over the backtest's window, so its spans and lags are checked against the panes retained.
  const input = windowInput(window);
  const candidateVersions = parseRuleSet(candidate, input, mode).versions;
  let baselineVersions: RuleVersion[] | undefined;
  if (Array.isArray(baseline)) baselineVersions = baseline;
  else if (baseline !== undefined) baselineVersions = parseRuleSet(baseline, input, mode).versions;
  return { window, candidate: candidateVersions, baseline: baselineVersions };
}

/** Whether two rule sets are the same (the report says so rather than showing an empty difference as news). */
export function sameRuleSets(a: readonly RuleVersion[], b: readonly RuleVersion[] | undefined): boolean {
  return b !== undefined && isDeepStrictEqual(a, b);
}
