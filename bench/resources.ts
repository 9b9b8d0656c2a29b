import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';

/**
 * What a bench run creates on the shared services: topics, Redis prefixes
 * and child processes (engines, generators), under one run tag. Names are
 * remembered before the thing exists, so a failure while creating it is
 * still cleaned up. cleanup() kills the children first (an engine still
 * running would outlive the bench and recreate what is deleted), then
 * deletes the topics and keys; it is safe to call twice.
 */
export class BenchResources {
  /** klaxon-bench-xxxxxxxx: the start of every name this run creates. */
  readonly tag = `klaxon-bench-${randomUUID().slice(0, 8)}`;
  readonly children = new Set<ChildProcess>();
  private readonly topics = new Set<string>();
  private readonly prefixes = new Set<string>();

  constructor(
    readonly kafka: Kafka,
    private readonly redisUrl: string,
    private readonly log: (line: string) => void,
  ) {}

  /** `tag-what`, remembered for deletion. */
  topic(what: string): string {
    const name = `${this.tag}-${what}`;
    this.topics.add(name);
    return name;
  }

  /** A Redis prefix `tag-what`: its keys are deleted at the end. */
  prefix(what: string): string {
    const name = `${this.tag}-${what}`;
    this.prefixes.add(name);
    return name;
  }

  /** Deletes these topics now (those that exist), or all of this run's. */
  async deleteTopics(names: string[] = [...this.topics]): Promise<void> {
    if (names.length === 0) return;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const doomed = names.filter((name) => existing.has(name));
      if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
      for (const name of names) this.topics.delete(name);
      this.log(`deleted ${doomed.length} topics`);
    } catch (error) {
      process.stderr.write(`could not delete the bench topics ${names.join(', ')}: ${(error as Error).message}\n`);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Deletes the keys under these prefixes now, or under all of this run's. */
  async deleteKeys(prefixes: string[] = [...this.prefixes]): Promise<void> {
    if (prefixes.length === 0) return;
    const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    try {
      await redis.connect();
      let deleted = 0;
      for (const prefix of prefixes) {
        deleted += await unlinkKeys(redis, `${prefix}:*`);
        this.prefixes.delete(prefix);
      }
      this.log(`deleted ${deleted} Redis keys`);
    } catch (error) {
      process.stderr.write(`could not delete the bench's Redis keys: ${(error as Error).message}\n`);
    } finally {
      redis.disconnect();
    }
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await this.deleteTopics();
    await this.deleteKeys();
  }
}

export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

export async function unlinkKeys(redis: Redis, pattern: string): Promise<number> {
  const keys = await scanKeys(redis, pattern);
  if (keys.length > 0) await redis.unlink(...keys);
  return keys.length;
}
