import type { EngineOptions, SinkConfig, SourceConfig } from '../config/types.js';
import { FileSink } from './file/file-sink.js';
import { openFileSource } from './file/file-source.js';
import { GeneratorSource } from './generator/generator-source.js';
import { stdinSource } from './stdio/stdin-source.js';
import { StdoutSink } from './stdio/stdout-sink.js';
import type { Sink, Source } from './types.js';

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
export type SinkRole = 'alerts' | 'dead-letters' | 'shadow';

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
