import { formatDuration } from '../config/durations.js';
import { UsageError } from '../errors.js';
import type { PartitionRange, TopicRange } from '../io/kafka/topic-range.js';
import { isoOrOpen } from './times.js';

export interface TopicPlan {
  ranges: PartitionRange[];
  /** For the report: the topic, its partitions and what is read of them. */
  description: string;
}

const number = new Intl.NumberFormat('en-US');

/**
 * Which offsets of every partition a backtest reads: from the offsets for
 * `from − warmup` (the warm-up, whose alerts do not count) through those for
 * `from` to those for `to` (offsets for times: the first record at or after
 * each time), or the whole retained topic for open bounds. Times outside
 * what the topic retains are refused, saying what it retains (exit 2).
 */
export async function planTopicRange(topic: TopicRange, brokers: readonly string[], from: number, to: number, warmupMs: number): Promise<TopicPlan> {
  const retained = await topic.retained();
  const where = `topic ${topic.topic} on ${brokers.join(',')}`;
  if (retained === undefined) throw new UsageError(`${where} holds no records`);
  const holds = `it retains records from ${isoOrOpen(retained.oldest)} to ${isoOrOpen(retained.newest)} (by record time)`;
  if (from !== Number.NEGATIVE_INFINITY && from < retained.oldest) {
    throw new UsageError(`--from ${isoOrOpen(from)} is before the oldest record of ${where}: ${holds}; older records are deleted, or never were`);
  }
  if (from > retained.newest) throw new UsageError(`--from ${isoOrOpen(from)} is after the newest record of ${where}: ${holds}`);
  if (to !== Number.POSITIVE_INFINITY && to <= retained.oldest) throw new UsageError(`--to ${isoOrOpen(to)} is before the oldest record of ${where}: ${holds}`);
  const open = from === Number.NEGATIVE_INFINITY;
  // The warm-up starts at the oldest record at most: a shorter warm-up than asked is said in the description.
  const warmFrom = open ? Number.NEGATIVE_INFINITY : Math.max(retained.oldest, from - warmupMs);
  const starts = open ? undefined : await topic.offsetsAt(warmFrom);
  const counts = open ? undefined : await topic.offsetsAt(from);
  const ends = to === Number.POSITIVE_INFINITY ? undefined : await topic.offsetsAt(to);
  const ranges = topic.partitions.map(({ partition, low, high }) => {
    const end = ends?.get(partition) ?? high;
    const countFrom = Math.min(end, counts?.get(partition) ?? low);
    return { partition, start: Math.min(countFrom, starts?.get(partition) ?? low), countFrom, end };
  });
  const total = ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
  const warm = ranges.reduce((sum, r) => sum + (r.countFrom - r.start), 0);
  const shortened =
    !open && warmupMs > 0 && warmFrom > from - warmupMs ? ` (the warm-up starts at the oldest record, ${formatDuration(from - warmFrom)} before --from)` : '';
  const description =
    `${where}, ${topic.partitions.length} partitions: ${number.format(total)} records` +
    (warm > 0 ? `, the first ${number.format(warm)} of them warm-up${shortened}` : '') +
    ` (${holds})`;
  return { ranges, description };
}
