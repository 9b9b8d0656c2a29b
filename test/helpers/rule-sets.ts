/**
 * Random rule sets for contract v2 (§7): several versions whose
 * effectiveFrom falls inside the stream's time span, rule ids that come,
 * go, come back and change type, mode or shadow between versions, scopes
 * (`zones`, `exceptZones`) and ordered overrides over the zone ids the
 * stream generator uses, severities, `for`, hysteresis. Always valid:
 * `rulesConfig` parses what this returns.
 */
import { seededRandom } from '../../src/io/generator/readings.js';
import { referenceParse } from './reference.js';

export interface RuleSetOptions {
  seed: number;
  paneMs: number;
  /** The stream the versions are for: their effectiveFrom values fall between its quartiles of ts. */
  lines: readonly string[];
  /** How many versions (1: rules only). */
  versions: number;
}

// The stream generator (streams.ts) names zones `zone-i`, `Zone X/i`, `zoné-i` and `z\"i`.
const PATTERNS = ['zone-*', 'Zone ?/*', '*1', 'z*', 'zoné-?', '*-2', 'Zone *', 'z\\"*', '*', 'nothing-*'];
const IDS = ['hot', 'cold', 'z', 'avg', 'roc', 'edge-x'];
const RETAIN = 40;

export function randomRuleSets(options: RuleSetOptions): Record<string, unknown> {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  const panes = (max: number) => options.paneMs * (1 + Math.floor(random() * max));
  const globs = () => Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(PATTERNS));
  const times = options.lines
    .map(referenceParse)
    .filter((r) => r !== null)
    .map((r) => r.ts)
    .sort((a, b) => a - b);
  const quantile = (q: number) => times[Math.floor(q * (times.length - 1))] ?? 0;
  const mode = pick(['edge', 'edge', 'every']);

  const rule = (id: string): Record<string, unknown> => {
    const type = pick(['threshold', 'threshold', 'zscore', 'window_avg', 'rate_of_change']);
    const ruleMode = chance(0.2) ? pick(['edge', 'every']) : undefined;
    const edge = (ruleMode ?? mode) === 'edge';
    const out: Record<string, unknown> = { id, type, ...(ruleMode === undefined ? {} : { mode: ruleMode }) };
    if (chance(0.5)) out.severity = pick(['info', 'warning', 'critical']);
    if (edge && chance(0.4)) out.for = pick([0, options.paneMs / 2, options.paneMs * 3, options.paneMs * 20]);
    if (chance(0.15)) out.shadow = true;
    if (chance(0.35)) out.zones = globs();
    if (chance(0.25)) out.exceptZones = globs();
    const overrides: Array<Record<string, unknown>> = [];
    const overrideCount = chance(0.4) ? 1 + Math.floor(random() * 2) : 0;
    switch (type) {
      case 'threshold': {
        // Levels around the generated bases (0, 20, 70, −5, 1e6 plus noise and spikes).
        const level = () => pick([5, 25, 72, 1e6 + 8, -2]);
        if (chance(0.7)) out.above = level();
        if (out.above === undefined || chance(0.4)) out.below = pick([-10, 0, 18, 68]);
        if (edge && out.above !== undefined && chance(0.5)) out.clearAbove = (out.above as number) - pick([0, 1, 4]);
        if (edge && out.below !== undefined && chance(0.5)) out.clearBelow = (out.below as number) + pick([0, 1, 4]);
        for (let i = 0; i < overrideCount; i++) {
          const o: Record<string, unknown> = { zones: globs() };
          // Levels and their clear levels move together, so the merge stays valid.
          if (chance(0.6)) {
            o.above = level();
            if (edge) o.clearAbove = (o.above as number) - pick([0, 2]);
          }
          if (out.below !== undefined && chance(0.4)) {
            o.below = pick([-20, 10, 65]);
            if (edge) o.clearBelow = (o.below as number) + pick([0, 2]);
          }
          overrides.push(o);
        }
        break;
      }
      case 'zscore':
        out.k = pick([1.5, 2, 3]);
        out.minSamples = pick([1, 5, 30]);
        for (let i = 0; i < overrideCount; i++) overrides.push({ zones: globs(), k: pick([1, 2.5]) });
        break;
      case 'window_avg':
        out.span = panes(RETAIN);
        out.abovePct = pick([0, 2, -1]);
        out.minSamples = pick([1, 4]);
        for (let i = 0; i < overrideCount; i++) overrides.push({ zones: globs(), span: panes(RETAIN), abovePct: pick([0, 5]) });
        break;
      case 'rate_of_change':
        out.lag = panes(RETAIN - 1);
        out.pct = pick([0, 5, 10]);
        out.direction = pick(['up', 'down', 'both']);
        for (let i = 0; i < overrideCount; i++) overrides.push({ zones: globs(), lag: panes(RETAIN - 1), direction: pick(['up', 'both']) });
        break;
    }
    // Overrides may also change what an alert says and how long a condition must hold.
    for (const o of overrides) {
      if (chance(0.3)) o.severity = pick(['info', 'critical']);
      if (edge && chance(0.2)) o.for = options.paneMs * 2;
    }
    if (overrides.length > 0) out.overrides = overrides;
    return out;
  };

  const versions = Array.from({ length: options.versions }, (_, v) => {
    const ids = IDS.filter(() => chance(0.6));
    const chosen = ids.length > 0 ? ids : [pick(IDS)];
    return {
      version: v + 1 + (v > 0 && chance(0.3) ? 5 : 0) * v,
      effectiveFrom: v === 0 ? 0 : quantile((0.15 + (0.7 * v) / options.versions) * (0.9 + 0.2 * random())),
      rules: chosen.map(rule),
    };
  });
  // Versions and effectiveFrom strictly increasing, as the contract wants.
  versions.forEach((version, i) => {
    const previous = versions[i - 1];
    if (previous !== undefined) {
      version.version = Math.max(version.version, previous.version + 1);
      version.effectiveFrom = Math.max(version.effectiveFrom, previous.effectiveFrom + 1);
    }
  });
  return { window: { size: pick([1, 7, 50]), pane: options.paneMs, retain: RETAIN }, mode, versions };
}
