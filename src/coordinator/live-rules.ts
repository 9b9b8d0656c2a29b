import type { KlaxonConfig, RuleVersion } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { logger } from '../log.js';
import { cannotFollow, checkVersion, iso, mergeVersions, sameVersion, versionAt } from '../rules/versions.js';

const log = logger('rules');

/**
 * The rule set versions of a running engine (contract §7.2, §7.5): the
 * config's, then what the rules channel holds, then each version published
 * while the engine runs. A new version is checked against the window and the
 * latest version, then handed to `apply` (which queues it at every worker
 * behind the batches already queued); versions are applied one at a time,
 * in the order they came. A version that arrives after a worker already
 * evaluated a reading at or past its effectiveFrom is late: it applies from
 * the next reading, and is logged and counted.
 */
export class LiveRules {
  /** Versions that came after a reading of their time had been evaluated (klaxon_rules_late_total). */
  late = 0;
  /** Records of the channel refused (invalid, not after the latest, or a known version changed). */
  refused = 0;
  private apply: ((version: RuleVersion) => Promise<boolean>) | undefined;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly config: Pick<KlaxonConfig, 'window' | 'mode'>,
    private readonly list: RuleVersion[],
  ) {}

  /** The config's versions alone (a job without a rules channel, or before it is read). */
  static fromConfig(config: Pick<KlaxonConfig, 'window' | 'mode' | 'versions'>): LiveRules {
    return new LiveRules(config, [...config.versions]);
  }

  /** The config's versions up to the channel's first, then the channel's (contract §7.5: the channel wins; the config bootstraps). */
  static fromChannel(config: Pick<KlaxonConfig, 'window' | 'mode' | 'versions'>, records: readonly unknown[], channel: string): LiveRules {
    const checked: RuleVersion[] = [];
    for (const record of records) {
      const result = checkVersion(record, { window: config.window, mode: config.mode });
      if (result.ok) checked.push(result.version);
      else log.error({ channel, issues: result.issues }, 'a rule set version in the rules channel is invalid: ignored');
    }
    checked.sort((a, b) => a.version - b.version);
    const published: RuleVersion[] = [];
    for (const version of checked) {
      const reason = published.length === 0 ? undefined : cannotFollow(published, version);
      if (reason === undefined) published.push(version);
      else log.error({ channel, version: version.version }, `a rule set version in the rules channel is ignored: ${reason}`);
    }
    const rules = new LiveRules(config, mergeVersions(config.versions, published));
    if (rules.list[0]?.effectiveFrom !== 0) {
      throw new ConfigError([
        `${channel}: its first version starts at ${published[0]?.effectiveFrom} and the config has no version before it: a rule set starts at 0 (publish a version in force from 0)`,
      ]);
    }
    return rules;
  }

  /** Every version known, oldest first. */
  get versions(): readonly RuleVersion[] {
    return this.list;
  }

  /** The version in force at `ts` (readings at that time are evaluated under it). */
  at(ts: number): RuleVersion | undefined {
    return versionAt(this.list, ts);
  }

  /** Where accepted versions go: the engine queues them at its workers; resolves true when the version was late there. */
  connect(apply: (version: RuleVersion) => Promise<boolean>): void {
    this.apply = apply;
  }

  /** A record from the rules channel: a version to apply, one known already, or one to refuse (logged). */
  offer(record: unknown): void {
    const result = checkVersion(record, { window: this.config.window, mode: this.config.mode });
    if (!result.ok) {
      this.refuse(record, `it is invalid: ${result.issues.join('; ')}`);
      return;
    }
    const version = result.version;
    const known = this.list.find((v) => v.version === version.version);
    if (known !== undefined) {
      if (!sameVersion(known, version))
        this.refuse(record, `version ${version.version} is known with other rules (a version never changes: publish a new one)`);
      return;
    }
    const reason = cannotFollow(this.list, version);
    if (reason !== undefined) {
      this.refuse(record, reason);
      return;
    }
    this.list.push(version);
    const apply = this.apply;
    if (apply === undefined) return;
    this.queue = this.queue.then(async () => {
      const late = await apply(version);
      const fields = { version: version.version, effectiveFrom: iso(version.effectiveFrom), rules: version.rules.map((rule) => rule.id) };
      if (late) {
        this.late++;
        log.warn(
          fields,
          `rule set version ${version.version} arrived after readings at or past its effectiveFrom were evaluated: it applies from the next reading (a replay of those readings would evaluate them under it)`,
        );
      } else {
        log.info(fields, `rule set version ${version.version} in force from ${iso(version.effectiveFrom)}`);
      }
    });
    // The engine reports a failure to queue the version itself (its workers are gone); nothing to add here.
    this.queue = this.queue.catch(() => {});
  }

  /** Resolves once every version offered so far has been applied at every worker. */
  settled(): Promise<void> {
    return this.queue;
  }

  private refuse(record: unknown, reason: string): void {
    this.refused++;
    const version = record !== null && typeof record === 'object' ? (record as { version?: unknown }).version : undefined;
    log.error({ version }, `a rule set version from the rules channel is ignored: ${reason}`);
  }
}
