import { statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { openFileSource } from '../io/file/file-source.js';
import type { PartitionRange, TopicRange } from '../io/kafka/topic-range.js';
import type { BacktestInput } from './run.js';

/** An NDJSON file of readings, read once from its start (its time range is applied by the workers, on each reading's ts). */
export async function fileInput(path: string, batchSize: number): Promise<BacktestInput> {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    throw new UsageError(`cannot read the input file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!isFile) throw new UsageError(`the input ${path} is not a file`);
  const source = await openFileSource(path, batchSize);
  return {
    description: path,
    async next() {
      const batch = await source.next();
      return batch === null ? null : { batch, warmup: false };
    },
    close: () => source.close(),
  };
}

/** Offset ranges of a topic, read through a consumer of a group of its own. */
export async function topicInput(topic: TopicRange, ranges: readonly PartitionRange[], batchSize: number, description: string): Promise<BacktestInput> {
  const reader = topic.reader(ranges, batchSize);
  await reader.start();
  return {
    description,
    next: () => reader.next(),
    close: () => reader.close(),
  };
}
