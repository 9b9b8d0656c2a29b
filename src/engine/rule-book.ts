import type { Rule, RuleVersion } from '../config/types.js';
import { type PlannedRule, type RuleIds, RuleKind, type VersionSpan, type ZonePlan } from '../model/plan.js';
import { compileGlobs, type ZoneMatcher } from './globs.js';
import { planRule } from './plan.js';

/** One rule of a version, compiled: its scope and each override's zones as matchers, planned once per override. */
interface CompiledRule {
  applies: ZoneMatcher;
  overrides: Array<{ matches: ZoneMatcher; planned: PlannedRule }>;
  planned: PlannedRule;
}

class CompiledVersion implements VersionSpan {
  until = Number.POSITIVE_INFINITY;
  /** Zone plans by the resolution that makes them (which rules apply, under which override): zones that resolve alike share one. */
  readonly plans = new Map<string, ZonePlan>();

  constructor(
    readonly version: number,
    readonly from: number,
    readonly rules: readonly CompiledRule[],
  ) {}
}

/**
 * A worker's rule set: every version it knows, ordered by effectiveFrom,
 * and the registry of rule ids. A reading is evaluated under the version
 * with the largest effectiveFrom ≤ its ts (contract §7.2); each zone's plan
 * under a version (scopes and overrides resolved, §7.3) is worked out once
 * and cached, not per reading.
 */
export class RuleBook implements RuleIds {
  private readonly ids: string[] = [];
  private readonly slots = new Map<string, number>();
  private readonly versions: CompiledVersion[] = [];

  constructor(
    versions: readonly RuleVersion[],
    private readonly paneMs: number,
  ) {
    for (const version of versions) this.add(version);
  }

  get size(): number {
    return this.ids.length;
  }

  slotOf(id: string): number {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.ids.length;
      this.ids.push(id);
      this.slots.set(id, slot);
    }
    return slot;
  }

  idOf(slot: number): string {
    const id = this.ids[slot];
    if (id === undefined) throw new RangeError(`no rule id in slot ${slot}`);
    return id;
  }

  /** Version numbers known, oldest first. */
  get known(): number[] {
    return this.versions.map((v) => v.version);
  }

  /**
   * Adds a version after the latest (a later version and a later
   * effectiveFrom); returns false, changing nothing, for any other. Zones
   * whose latest reading was under the previous latest version move to the
   * new one at their first reading at or past its effectiveFrom.
   */
  add(version: RuleVersion): boolean {
    const latest = this.versions.at(-1);
    if (latest !== undefined && (version.version <= latest.version || version.effectiveFrom <= latest.from)) return false;
    const rules = version.rules.map((rule) => this.compile(rule, version.version));
    if (latest !== undefined) latest.until = version.effectiveFrom;
    this.versions.push(new CompiledVersion(version.version, version.effectiveFrom, rules));
    return true;
  }

  /** The version in force at `ts`: the largest effectiveFrom ≤ ts (the first version starts at 0, so there is one). */
  versionAt(ts: number): CompiledVersion {
    const versions = this.versions;
    let lo = 0;
    let hi = versions.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((versions[mid] as CompiledVersion).from <= ts) lo = mid;
      else hi = mid - 1;
    }
    const found = versions[lo];
    if (found === undefined) throw new Error('the rule book holds no version');
    return found;
  }

  /** The zone's plan under a version. */
  planFor(version: CompiledVersion, zoneId: string): ZonePlan {
    let key = '';
    for (const rule of version.rules) {
      if (!rule.applies(zoneId)) key += 'x,';
      else key += `${rule.overrides.findIndex((override) => override.matches(zoneId))},`;
    }
    let plan = version.plans.get(key);
    if (plan === undefined) {
      const rules: PlannedRule[] = [];
      version.rules.forEach((rule) => {
        if (!rule.applies(zoneId)) return;
        rules.push(rule.overrides.find((override) => override.matches(zoneId))?.planned ?? rule.planned);
      });
      const indexOfSlot = new Int32Array(this.size).fill(-1);
      rules.forEach((rule, i) => {
        indexOfSlot[rule.slot] = i;
      });
      const spans = [...new Set(rules.flatMap((rule) => (rule.kind === RuleKind.windowAvg ? [rule.panes] : [])))];
      plan = { span: version, rules, indexOfSlot, slots: this.size, spans };
      version.plans.set(key, plan);
    }
    return plan;
  }

  private compile(rule: Rule, version: number): CompiledRule {
    const slot = this.slotOf(rule.id);
    const inScope = rule.zones === undefined ? () => true : compileGlobs(rule.zones);
    const excluded = rule.exceptZones === undefined ? () => false : compileGlobs(rule.exceptZones);
    return {
      applies: (zoneId) => inScope(zoneId) && !excluded(zoneId),
      overrides: rule.overrides.map((override) => ({
        matches: compileGlobs(override.zones),
        planned: planRule(rule, override, this.paneMs, slot, version),
      })),
      planned: planRule(rule, undefined, this.paneMs, slot, version),
    };
  }
}
