import type { KlaxonConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { RulesChannel } from '../model/rules-channel.js';
import { RulesFile } from './rules-file.js';

export type { RulesChannel };

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
