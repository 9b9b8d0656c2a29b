import type { KlaxonConfig, RuleVersion } from '../config/types.js';
import { LiveRules } from '../coordinator/live-rules.js';
import { openRulesChannel } from '../rules/channel.js';

/** A deployment's rule set versions and where they were read. */
export interface DeploymentRules {
  versions: RuleVersion[];
  /** Where they were read: "the rules topic readings.rules", or "the config" (and why) when its channel holds nothing. */
  channel: string;
}

/**
 * The rule set versions a deployment's engines run with (contract §7.5):
 * the config's, then what its rules channel holds. Read only: a Kafka rules
 * topic that does not exist is not created (the config's versions stand),
 * and the one that exists is read through a consumer group of its own that
 * commits nothing.
 */
export async function deploymentRules(config: KlaxonConfig): Promise<DeploymentRules> {
  const { source } = config;
  if (source.type === 'kafka') {
    const { createKafka, topicExists } = await import('../io/kafka/client.js');
    if (!(await topicExists(createKafka(source.brokers, `${source.clientId}-backtest`), source.rulesTopic))) {
      return { versions: [...config.versions], channel: `the config; its rules topic ${source.rulesTopic} does not exist` };
    }
  }
  const channel = await openRulesChannel(config);
  try {
    const records = await channel.load();
    const versions = [...LiveRules.fromChannel(config, records, channel.name).versions];
    return {
      versions,
      channel:
        records.length > 0
          ? `the ${channel.name}`
          : `the config${config.rulesFile === undefined && source.type !== 'kafka' ? '' : ` (its ${channel.name} holds no version)`}`,
    };
  } finally {
    await channel.close();
  }
}
