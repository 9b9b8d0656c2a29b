import { renameSync, statSync, writeFileSync } from 'node:fs';
import { readRulesFile } from '../config/load.js';
import { describeError } from '../errors.js';
import { logger } from '../log.js';
import type { PublishedVersion, RulesChannel } from '../model/rules-channel.js';

const log = logger('rules-file');
const POLL_MS = 250;

/**
 * The rules channel of a file or stdin job (config `rulesFile`): a JSON file
 * holding `{"versions": [...]}` (or `{"rules": [...]}`, version 1). A
 * running engine looks at it four times a second and reads it again when it
 * changed; `klaxon rules apply` adds a version by writing a new file and
 * renaming it over the old one, so a reader never sees half of it.
 */
export class RulesFile implements RulesChannel {
  readonly name: string;
  readonly bootstrapsFromConfig = false;
  private timer: NodeJS.Timeout | undefined;
  private stamp = '';

  constructor(private readonly path: string) {
    this.name = `rules file ${path}`;
  }

  async load(): Promise<unknown[]> {
    this.stamp = this.stampNow();
    return this.read();
  }

  follow(listener: (record: unknown) => void): void {
    this.timer = setInterval(() => {
      const stamp = this.stampNow();
      if (stamp === this.stamp) return;
      this.stamp = stamp;
      try {
        for (const record of this.read()) listener(record);
      } catch (error) {
        log.error({ file: this.path, err: error }, `the rules file cannot be read: the versions already known stay in force (${describeError(error)})`);
      }
    }, POLL_MS);
    this.timer.unref();
  }

  async publish(versions: readonly PublishedVersion[]): Promise<void> {
    const all = [...this.read(), ...versions];
    const partial = `${this.path}.${process.pid}.partial`;
    writeFileSync(partial, `${JSON.stringify({ versions: all }, null, 2)}\n`);
    renameSync(partial, this.path);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  /** The file's versions, raw (rules alone are version 1, in force from 0). */
  private read(): unknown[] {
    const content = readRulesFile(this.path);
    if (content.versions !== undefined) return Array.isArray(content.versions) ? content.versions : [content.versions];
    return [{ version: 1, effectiveFrom: 0, rules: content.rules }];
  }

  private stampNow(): string {
    try {
      const stat = statSync(this.path);
      return `${stat.mtimeMs}/${stat.size}/${stat.ino}`;
    } catch {
      return 'missing';
    }
  }
}
