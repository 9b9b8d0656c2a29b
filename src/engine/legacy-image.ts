import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { Rule, RulesConfig } from '../config/types.js';
import { StateError } from '../errors.js';
import { RuleKind, SEVERITIES } from '../model/plan.js';
import { FIRING, stateBitsOf } from './rule-state.js';
import { IMAGE_HEADER_BYTES, imageHeader, ruleCapacityFor, SNAPSHOT_FORMAT, writeHeaderFields } from './zone-image.js';

/**
 * Snapshots made before live rules (format 2) held each zone's statistics
 * exactly as format 3 does, followed by one FIRING flag per rule, in rule
 * order, under a fingerprint of the window and the rules. When this config's
 * version 1 is those rules (as the old engine normalised them) and
 * window.retain is the pane ring they made, an image converts exactly: the
 * statistics are copied and each flag becomes a FIRING state of its rule id
 * (severity warning, what v1 alerts mean in contract v2). Anything else is
 * refused by the store, with the reason.
 */
export const LEGACY_FORMAT = 2;

export interface LegacyLayout {
  /** The fingerprints the old engine wrote for version 1's rules (a mode written in a rule or inherited from the top level normalised alike but hashed apart). */
  fingerprints: ReadonlySet<string>;
  /** Version 1's rules in order: the rule of each firing flag. */
  rules: ReadonlyArray<{ id: string; kind: number }>;
  historySize: number;
  /** R of version 1's rules, without overrides: the pane ring the old images hold. */
  ringPanes: number;
}

/** Mode positions tried at most (2^n fingerprints for n rules); beyond, only "all written" and "all inherited". */
const MAX_COMBINED_RULES = 12;
const packr = new Packr({ useRecords: false });

/** What a format-2 snapshot of this config's version 1 looks like. */
export function legacyLayout(config: RulesConfig): LegacyLayout {
  const rules = config.versions[0]?.rules ?? [];
  const { size, paneMs } = config.window;
  const n = rules.length;
  const combinations = n <= MAX_COMBINED_RULES ? Array.from({ length: 2 ** n }, (_, mask) => mask) : [0, 2 ** n - 1];
  const fingerprints = new Set(
    combinations.map((mask) => {
      const legacyRules = rules.map((rule, i) => legacyRule(rule, (mask >> i) % 2 === 1));
      return createHash('sha256')
        .update(JSON.stringify({ window: { size, paneMs }, rules: legacyRules }))
        .digest('hex')
        .slice(0, 16);
    }),
  );
  let ringPanes = 0;
  for (const rule of rules) {
    if (rule.type === 'window_avg') ringPanes = Math.max(ringPanes, rule.spanMs / paneMs);
    if (rule.type === 'rate_of_change') ringPanes = Math.max(ringPanes, rule.lagMs / paneMs + 1);
  }
  const kinds = { threshold: RuleKind.threshold, zscore: RuleKind.zscore, window_avg: RuleKind.windowAvg, rate_of_change: RuleKind.rateOfChange };
  return { fingerprints, rules: rules.map((rule) => ({ id: rule.id, kind: kinds[rule.type] })), historySize: size, ringPanes };
}

/**
 * A rule as the old config normalised it, keys in its order: type, id, the
 * mode where it was written (else last, filled from the top level), the
 * type's parameters with their defaults, durations last in ms.
 */
function legacyRule(rule: Rule, modeWritten: boolean): Record<string, unknown> {
  const head = { type: rule.type, id: rule.id, ...(modeWritten ? { mode: rule.mode } : {}) };
  const tail = modeWritten ? {} : { mode: rule.mode };
  switch (rule.type) {
    case 'threshold':
      return { ...head, ...(rule.above === undefined ? {} : { above: rule.above }), ...(rule.below === undefined ? {} : { below: rule.below }), ...tail };
    case 'zscore':
      return { ...head, k: rule.k, minSamples: rule.minSamples, ...tail };
    case 'window_avg':
      return { ...head, abovePct: rule.abovePct, minSamples: rule.minSamples, spanMs: rule.spanMs, ...tail };
    case 'rate_of_change':
      return { ...head, pct: rule.pct, direction: rule.direction, lagMs: rule.lagMs, ...tail };
  }
}

/** A format-2 image as the format-3 image of the same zone (checked against the layout; StateError if it is not one). */
export function convertLegacyImage(zoneId: string, image: Uint8Array, layout: LegacyLayout): Uint8Array {
  const fields = imageHeader(zoneId, image);
  const statsBytes = 8 * layout.historySize + 20 * layout.ringPanes;
  if (fields[0] !== LEGACY_FORMAT || image.byteLength !== IMAGE_HEADER_BYTES + statsBytes + layout.rules.length) {
    throw new StateError(`the snapshot of zone ${zoneId} is not a format-${LEGACY_FORMAT} image of this config's version 1 (another layout)`);
  }
  const flags = image.subarray(IMAGE_HEADER_BYTES + statsBytes);
  const warning = SEVERITIES.indexOf('warning');
  const states = layout.rules.flatMap((rule, i) => (flags[i] === 1 ? [[rule.id, FIRING | stateBitsOf(rule.kind, false, warning)]] : []));
  const section = states.length === 0 ? new Uint8Array(0) : Uint8Array.prototype.slice.call(packr.pack(states));
  const converted = new Uint8Array(IMAGE_HEADER_BYTES + statsBytes + ruleCapacityFor(section.byteLength, 0));
  // Format 3's header: format 2's scalars, then the size of the rule states.
  writeHeaderFields([SNAPSHOT_FORMAT, ...(fields.slice(1) as number[]), section.byteLength], converted, 0);
  converted.set(image.subarray(IMAGE_HEADER_BYTES, IMAGE_HEADER_BYTES + statsBytes), IMAGE_HEADER_BYTES);
  converted.set(section, IMAGE_HEADER_BYTES + statsBytes);
  return converted;
}
