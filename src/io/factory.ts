import type { EngineOptions, KlaxonConfig, SinkConfig, SourceConfig } from '../config/types.js';
import { FileSink } from './file/file-sink.js';
import { openFileSource } from './file/file-source.js';
import { GeneratorSource } from './generator/generator-source.js';
import { stdinSource } from './stdio/stdin-source.js';
import { StdoutSink } from './stdio/stdout-sink.js';
import type { Sink, SinkRole, Source } from './types.js';

/** Builds the configured source; Kafka is loaded only when asked for. */
export async function createSource(config: SourceConfig, engine: EngineOptions): Promise<Source> {
  switch (config.type) {
    case 'file':
      return openFileSource(config.path, engine.batchSize);
    case 'stdin':
      return stdinSource(engine.batchSize);
    case 'generator':
      return new GeneratorSource(config, engine.batchSize);
    case 'kafka': {
      const { KafkaSource } = await import('./kafka/kafka-source.js');
      return KafkaSource.connect(config, engine);
    }
  }
}

/** What a sink carries: alerts, dead letters, or the alerts of shadow rules. */

/** Builds a configured sink; `role` names it in messages and picks the Kafka producer's id. */
export async function createSink(config: SinkConfig, role: SinkRole): Promise<Sink> {
  switch (config.type) {
    case 'file':
      return FileSink.open(config.path);
    case 'stdout':
      return new StdoutSink(config.format === 'pretty' && role !== 'dead-letters');
    case 'kafka': {
      const { KafkaSink } = await import('./kafka/kafka-sink.js');
      return KafkaSink.connect(config, role);
    }
  }
}

/**
 * Waits, for at most `connectTimeout`, until every Kafka cluster the config
 * names answers; throws UnreachableError naming the first that does not and
 * every config key that names it. Run before anything connects, so that a
 * wrong address or a broker that is not started is a short answer instead of
 * minutes of retries.
 */
export async function waitForConfiguredKafka(config: KlaxonConfig): Promise<void> {
  const clusters = new Map<string, { brokers: string[]; namedBy: string[] }>();
  for (const key of ['source', 'sink', 'deadLetter'] as const) {
    const part = config[key];
    if (part.type !== 'kafka') continue;
    const id = [...part.brokers].sort().join(',');
    const cluster = clusters.get(id) ?? { brokers: part.brokers, namedBy: [] };
    cluster.namedBy.push(`${key}.brokers`);
    clusters.set(id, cluster);
  }
  if (clusters.size === 0) return;
  const { waitForKafka } = await import('./kafka/reachable.js');
  await Promise.all([...clusters.values()].map(({ brokers, namedBy }) => waitForKafka(brokers, namedBy, config.connectTimeoutMs)));
}
