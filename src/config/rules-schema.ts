import { z } from 'zod';
import { formatDuration } from './durations.js';
import { duration, mode, modeDescription } from './fields.js';

/**
 * Rule sets, declared once (contract §3 and §7): the four rule types with
 * their scopes, overrides and v2 options, and versions of a rule set. The
 * config (schema.ts) holds them as `rules` or `versions`; `klaxon rules
 * apply` publishes one version in the same form; an engine reads a published
 * version back with the same schema (rule-records.ts). What the shapes cannot
 * say (whole panes, the state's pane ring, hysteresis levels, increasing
 * versions) is checked by checkRuleSets, against the window.
 */

const id = z
  .string()
  .min(1)
  .max(256)
  .meta({ description: 'Unique name of the rule within its version; part of every alert_id. State follows the id across versions.' });
const ruleMode = mode.optional().meta({ description: `Overrides the top-level mode for this rule. ${modeDescription}` });
const severity = z.enum(['info', 'warning', 'critical']).meta({ description: 'Copied into every alert of the rule.' });
const pattern = z
  .string()
  .min(1, 'must not be empty (a glob on zone_id: * any run of characters, ? one character, everything else literal)')
  .meta({ description: 'A glob on the whole zone_id: * any run of characters, ? one character, everything else literal (no escapes).' });
const patterns = (description: string) => z.array(pattern).meta({ description });
const holdFor = duration(0, 'Edge mode: fire only once the condition has held on every evaluation since a reading this long ago (0: at once).');
const minSamples = z.int().min(0);

/**
 * `for` becomes `forMs` only where it is written (an override replaces only
 * what it gives; a rule in mode every must not write it at all). Absent, it
 * is 0: `withDefaults` fills it in once the checks have seen what was written.
 */
function renameFor<T extends { for?: number | undefined }>({ for: forMs, ...rule }: T): Omit<T, 'for'> & { forMs?: number } {
  return forMs === undefined ? rule : { ...rule, forMs };
}

/**
 * An override of one rule type: `zones` it applies to, and any of the type's
 * parameters, `severity`, `for` (and, for threshold, the clear levels).
 * Anything else is refused, naming what an override may set.
 */
function overrideOf<T extends z.core.$ZodLooseShape>(type: string, parameters: T) {
  const shape = {
    zones: patterns('The zones this override applies to (globs); the first matching override of a rule wins.'),
    severity: severity.optional(),
    for: holdFor.optional(),
    ...parameters,
  };
  const settable = Object.keys(shape).filter((key) => key !== 'zones');
  const message = `cannot be overridden (a ${type} override may set ${settable.join(', ')})`;
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? issue.keys.map(() => message).join('\n') : undefined),
  });
}

const overridesOf = <T extends z.ZodType>(override: T) =>
  z.array(override).default([]).meta({
    description: 'Per-zone parameters: for a zone, the first override whose zones match replaces the rule parameters it sets.',
  });

/** Every rule's options besides its type's parameters. */
const common = {
  id,
  mode: ruleMode,
  severity: severity.default('warning'),
  for: holdFor.optional(),
  shadow: z
    .boolean()
    .default(false)
    .meta({ description: 'Evaluated and kept like any rule, but its alerts go to the shadow output, never to the alerts sink.' }),
  shadows: z.string().min(1).max(256).optional().meta({
    description:
      'A shadow rule: the id of the live rule of the same version it would replace. The dashboard shows their firing counts side by side; the engine evaluates nothing differently.',
  }),
  zones: patterns('Only zones matching one of these globs (absent: every zone; []: none).').optional(),
  exceptZones: patterns('Zones matching one of these globs are left out (applied after zones).').optional(),
};

const level = (description: string) => z.number().optional().meta({ description });
const thresholdParameters = {
  above: level('Fires when the temperature is above this.'),
  below: level('Fires when the temperature is below this.'),
  clearAbove: level('Hysteresis (edge mode): a firing rule resolves only once the temperature is at or below this (≤ above; default: above).'),
  clearBelow: level('Hysteresis (edge mode): a firing rule resolves only once the temperature is at or above this (≥ below; default: below).'),
};

const thresholdRule = z
  .strictObject({
    type: z.literal('threshold'),
    ...common,
    ...thresholdParameters,
    overrides: overridesOf(overrideOf('threshold', thresholdParameters).transform(renameFor)),
  })
  .transform(renameFor)
  .meta({ description: 'Fires outside fixed bounds: above, below, or both.' });

const k = z.number().positive();
const zscoreRule = z
  .strictObject({
    type: z.literal('zscore'),
    ...common,
    k: k.default(3).meta({ description: 'How many standard deviations from the mean counts as an outlier.' }),
    minSamples: minSamples.default(30).meta({ description: 'Values the history needs before the rule can fire.' }),
    overrides: overridesOf(overrideOf('zscore', { k: k.optional(), minSamples: minSamples.optional() }).transform(renameFor)),
  })
  .transform(renameFor)
  .meta({ description: "Fires on readings more than k standard deviations from the mean of the zone's history (its last window.size values)." });

const span = duration(1, 'Width of the average; a whole number of window panes.');
const windowAvgRule = z
  .strictObject({
    type: z.literal('window_avg'),
    ...common,
    span: span.prefault('5m'),
    abovePct: z.number().default(0).meta({ description: 'How many percent above the average a reading must be to fire.' }),
    minSamples: minSamples.default(1).meta({ description: 'Earlier readings the span needs before the rule can fire.' }),
    overrides: overridesOf(
      overrideOf('window_avg', { span: span.optional(), abovePct: z.number().optional(), minSamples: minSamples.optional() }).transform(
        ({ span: spanMs, ...override }) => renameFor(spanMs === undefined ? override : { ...override, spanMs }),
      ),
    ),
  })
  .transform(({ span: spanMs, ...rule }) => renameFor({ ...rule, spanMs }))
  .meta({ description: 'Fires on readings above the average of the earlier readings in the last span.' });

const lag = duration(1, 'How far back to compare; a whole number of window panes.');
const pct = z.number().min(0);
const direction = z.enum(['up', 'down', 'both']);
const rateOfChangeRule = z
  .strictObject({
    type: z.literal('rate_of_change'),
    ...common,
    lag: lag.prefault('5m'),
    pct: pct.default(10).meta({ description: 'Change in percent, in the given direction, that fires.' }),
    direction: direction.default('up'),
    overrides: overridesOf(
      overrideOf('rate_of_change', { lag: lag.optional(), pct: pct.optional(), direction: direction.optional() }).transform(({ lag: lagMs, ...override }) =>
        renameFor(lagMs === undefined ? override : { ...override, lagMs }),
      ),
    ),
  })
  .transform(({ lag: lagMs, ...rule }) => renameFor({ ...rule, lagMs }))
  .meta({ description: 'Fires when a reading differs by more than pct percent from the mean of the pane lag ago.' });

export const ruleSchema = z
  .discriminatedUnion('type', [thresholdRule, zscoreRule, windowAvgRule, rateOfChangeRule])
  .meta({ id: 'rule', description: 'One alert rule: its type, parameters and options.' });

export const rulesSchema = z.array(ruleSchema).min(1);

/** One version of the rule set (contract §7.2). */
export const versionSchema = z.strictObject({
  version: z.int().min(1).meta({ description: 'A positive integer; versions increase.' }),
  effectiveFrom: z.int().min(0).meta({
    description:
      'Milliseconds since the epoch: readings with ts at or after this (and before the next version) are evaluated under this version. The first version starts at 0.',
  }),
  rules: rulesSchema.meta({ description: 'The alert rules of this version, each with a unique id.' }),
  appliedAt: z.string().optional().meta({ description: 'When `klaxon rules apply` published it (information only).' }),
});

/** A rule as parsed, before the top-level mode and `for`'s default are filled in. */
export type ParsedRule = z.output<typeof ruleSchema>;

/** A parsed rule as the engine runs it: the mode of the rule set where it writes none, `for` 0 where it writes none. */
export function withDefaults<R extends ParsedRule>(rule: R, mode: 'edge' | 'every'): R & { mode: 'edge' | 'every'; forMs: number } {
  return { ...rule, mode: rule.mode ?? mode, forMs: rule.forMs ?? 0 };
}
export type ParsedVersion = z.output<typeof versionSchema>;
type Path = Array<string | number>;

/** What checkRuleSets needs to know besides the rule sets. */
export interface RuleSetContext {
  paneMs: number;
  /** R, the panes the state retains; undefined: the first rule set decides (contract §7.1's default). */
  retain: number | undefined;
  /** The mode of rules that do not set one. */
  defaultMode: 'edge' | 'every';
  /** How a refusal names the retained panes (default: "window.retain is R"); `klaxon rules apply` says "the state retains R". */
  retainLabel?: string;
  issue(path: Path, input: unknown, message: string): void;
}

/** Panes a rule (or a rule with an override merged on) needs kept: P for window_avg, L + 1 for rate_of_change. */
export function panesNeeded(rule: { type: string; spanMs?: number; lagMs?: number }, paneMs: number): number {
  if (rule.type === 'window_avg' && rule.spanMs !== undefined) return Math.ceil(rule.spanMs / paneMs);
  if (rule.type === 'rate_of_change' && rule.lagMs !== undefined) return Math.ceil(rule.lagMs / paneMs) + 1;
  return 0;
}

/** R of contract §2 for a rule set, overrides included: the default of window.retain (from the first version). */
export function retainOf(rules: readonly ParsedRule[], paneMs: number): number {
  let panes = 0;
  for (const rule of rules) for (const variant of variantsOf(rule)) panes = Math.max(panes, panesNeeded(variant, paneMs));
  return panes;
}

/** The rule itself, then the rule with each override merged on: each must be valid on its own (contract §7.3). */
function variantsOf(rule: ParsedRule): Array<Record<string, unknown> & ParsedRule> {
  return [rule, ...rule.overrides.map((override) => ({ ...rule, ...override }) as Record<string, unknown> & ParsedRule)];
}

const INPUT_KEY: Record<string, string> = { forMs: 'for', spanMs: 'span', lagMs: 'lag' };

/**
 * Checks what the shapes cannot: ids unique within a version, versions
 * strictly increasing (the first at 0), and every rule and every override
 * merged onto it: whole panes within the retained ring, hysteresis levels on
 * the right side of their bound, edge-only options not in mode every.
 * `where(i)` is the JSON path of rule set i. Returns the retain in force.
 */
export function checkRuleSets(sets: readonly ParsedVersion[], where: (set: number) => Path, context: RuleSetContext): number {
  const { paneMs, issue } = context;
  const first = sets[0];
  const retain = context.retain ?? (first === undefined ? 0 : retainOf(first.rules, paneMs));
  const retainIs = context.retainLabel ?? `window.retain is ${retain}${context.retain === undefined ? ' (by default, what the first version needs)' : ''}`;
  sets.forEach((set, s) => {
    const at = where(s);
    const previous = sets[s - 1];
    if (previous === undefined && set.effectiveFrom !== 0)
      issue([...at, 'effectiveFrom'], set.effectiveFrom, 'the first version must start at 0 (it covers every reading before the next one)');
    if (previous !== undefined && set.version <= previous.version)
      issue([...at, 'version'], set.version, `must be greater than the version before it (${previous.version})`);
    if (previous !== undefined && set.effectiveFrom <= previous.effectiveFrom)
      issue([...at, 'effectiveFrom'], set.effectiveFrom, `must be later than the effectiveFrom before it (${previous.effectiveFrom})`);
    const firstAt = new Map<string, number>();
    set.rules.forEach((rule, r) => {
      const rulePath = [...at, 'rules', r];
      const seen = firstAt.get(rule.id);
      if (seen === undefined) firstAt.set(rule.id, r);
      else issue([...rulePath, 'id'], rule.id, `duplicate rule id "${rule.id}" (first at /${[...at, 'rules', seen].join('/')})`);
      if (rule.type === 'threshold' && rule.above === undefined && rule.below === undefined)
        issue(rulePath, rule, 'a threshold rule needs "above", "below" or both');
      if (rule.shadows !== undefined) checkShadows(rule, set.rules, [...rulePath, 'shadows'], issue);
      const every = (rule.mode ?? context.defaultMode) === 'every';
      variantsOf(rule).forEach((variant, v) => {
        const own: Record<string, unknown> = v === 0 ? rule : (rule.overrides[v - 1] as Record<string, unknown>);
        const objectPath = v === 0 ? rulePath : [...rulePath, 'overrides', v - 1];
        // A key this object sets is named; a conflict that only the merge creates is the override's.
        const pathOf = (key: string) => (key in own ? [...objectPath, INPUT_KEY[key] ?? key] : objectPath);
        checkVariant(variant, every, pathOf, paneMs, retain, retainIs, issue);
      });
    });
  });
  return retain;
}

/** `shadows` names the live rule a shadow rule would replace: another rule of its version, not a shadow one itself. */
function checkShadows(rule: ParsedRule, rules: readonly ParsedRule[], path: Path, issue: RuleSetContext['issue']): void {
  const target = rules.find((other) => other.id === rule.shadows);
  if (!rule.shadow) issue(path, rule.shadows, '"shadows" is for a shadow rule ("shadow": true): it names the live rule the shadow rule would replace');
  else if (rule.shadows === rule.id) issue(path, rule.shadows, 'a rule cannot shadow itself: name the live rule it would replace');
  else if (target === undefined) issue(path, rule.shadows, `names no rule of this version (its rules: ${rules.map((r) => r.id).join(', ')})`);
  else if (target.shadow) issue(path, rule.shadows, `"${target.id}" is a shadow rule too: name the live rule this one would replace`);
}

function checkVariant(
  variant: Record<string, unknown> & ParsedRule,
  every: boolean,
  pathOf: (key: string) => Path,
  paneMs: number,
  retain: number,
  retainIs: string,
  issue: RuleSetContext['issue'],
): void {
  if (every) {
    if (variant.forMs !== undefined) issue(pathOf('forMs'), variant.forMs, '"for" is an edge-mode option: this rule is in mode every');
    for (const key of ['clearAbove', 'clearBelow']) {
      if (variant[key] !== undefined) issue(pathOf(key), variant[key], `"${key}" is an edge-mode option: this rule is in mode every`);
    }
  }
  const whole = (key: 'spanMs' | 'lagMs', ms: number) => {
    if (ms % paneMs !== 0) {
      issue(pathOf(key), ms, `${formatDuration(ms)} is not a whole number of panes (window.pane is ${formatDuration(paneMs)})`);
      return;
    }
    const needed = panesNeeded(variant, paneMs);
    if (needed > retain) issue(pathOf(key), ms, `${formatDuration(ms)} needs ${needed} panes, ${retainIs}`);
  };
  switch (variant.type) {
    case 'threshold': {
      const { above, below, clearAbove, clearBelow } = variant;
      if (clearAbove !== undefined && above === undefined) issue(pathOf('clearAbove'), clearAbove, '"clearAbove" needs "above"');
      if (clearAbove !== undefined && above !== undefined && clearAbove > above)
        issue(pathOf('clearAbove'), clearAbove, `must be at most "above" (${above}): a firing rule resolves at or below it`);
      if (clearBelow !== undefined && below === undefined) issue(pathOf('clearBelow'), clearBelow, '"clearBelow" needs "below"');
      if (clearBelow !== undefined && below !== undefined && clearBelow < below)
        issue(pathOf('clearBelow'), clearBelow, `must be at least "below" (${below}): a firing rule resolves at or above it`);
      break;
    }
    case 'window_avg':
      whole('spanMs', variant.spanMs);
      break;
    case 'rate_of_change':
      whole('lagMs', variant.lagMs);
      break;
    case 'zscore':
      break;
  }
}
