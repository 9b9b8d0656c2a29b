import type { KlaxonConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { RulesFile } from './rules-file.js';
import type { PublishedVersion } from './versions.js';

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

/**
 * A job whose rule set is its config's (a file or stdin job without a
 * rulesFile): nothing to follow, nowhere to publish.
 */
class ConfigRules implements RulesChannel {
  readonly name = 'the config';
  readonly bootstrapsFromConfig = false;

  async load(): Promise<unknown[]> {
    return [];
  }

  follow(): void {}

  async publish(): Promise<void> {
    throw new UsageError(
      'this job reads its rule set from its config: add the version to its "versions" (and restart), or give the config a "rulesFile" that `klaxon rules apply` can add versions to while it runs',
    );
  }

  async close(): Promise<void> {}
}

/** The config's rules channel: its Kafka rules topic, its rules file, or (neither) the config itself. */
export async function openRulesChannel(config: KlaxonConfig): Promise<RulesChannel> {
  const { source } = config;
  if (source.type === 'kafka') {
    const { KafkaRulesTopic } = await import('../io/kafka/rules-topic.js');
    return KafkaRulesTopic.connect(source.brokers, source.rulesTopic, source.clientId);
  }
  if (config.rulesFile !== undefined) return new RulesFile(config.rulesFile);
  return new ConfigRules();
}
