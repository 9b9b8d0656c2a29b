/**
 * A rule set version as it travels through a rules channel (rules/versions.ts
 * writes and reads it): the version, its rules as a person writes them, and
 * when it was applied (information only).
 */
export interface PublishedVersion {
  version: number;
  effectiveFrom: number;
  rules: Array<Record<string, unknown>>;
  appliedAt?: string;
}

/**
 * A deployment's rules channel (contract §7.5): where rule set versions are
 * published, and where every engine process of the deployment reads them
 * at start and follows them while it runs. Records travel unchecked: the
 * reader checks each one (versions.ts).
 */
export interface RulesChannel {
  /** For messages: "rules topic readings.rules", "rules file /etc/klaxon/rules.json". */
  readonly name: string;
  /**
   * The channel starts empty and the config's versions stand in until it
   * holds some: the first `apply` publishes them first, so that the channel
   * holds the whole rule set from then on.
   */
  readonly bootstrapsFromConfig: boolean;
  /** Every version published so far (possibly none), in no promised order. Called once, before follow(). */
  load(): Promise<unknown[]>;
  /**
   * Calls `listener` with each version published from now on, soon after it
   * is (a Kafka channel within a second). A version may come again; the
   * listener ignores what it knows. Never called after close().
   */
  follow(listener: (record: unknown) => void): void;
  /** Publishes versions, in order (`klaxon rules apply`). */
  publish(versions: readonly PublishedVersion[]): Promise<void>;
  close(): Promise<void>;
}
