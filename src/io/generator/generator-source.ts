import { setTimeout as sleep } from 'node:timers/promises';
import type { GeneratorSourceConfig } from '../../config/types.js';
import type { Source, SourceBatch } from '../types.js';
import { Plant } from './readings.js';

/**
 * Synthetic readings at a set rate (open loop: the schedule does not slow down
 * when the engine does; lag() says how far behind it is), bounded by `count`
 * or endless. Records are keyed by zone_id, like a well-behaved producer.
 */
export class GeneratorSource implements Source {
  private readonly plant: Plant;
  private emitted = 0;
  private readonly startedAt = performance.now();
  private stopped = false;

  constructor(
    private readonly config: GeneratorSourceConfig,
    private readonly batchSize: number,
  ) {
    this.plant = new Plant(config);
  }

  async next(): Promise<SourceBatch | null> {
    const { count, rate } = this.config;
    const left = count === undefined ? this.batchSize : Math.min(this.batchSize, count - this.emitted);
    if (this.stopped || left <= 0) return null;
    let size = left;
    if (rate > 0) {
      // Emit what is due now (at least one record), sleeping until the next one is.
      const due = Math.floor(((performance.now() - this.startedAt) / 1000) * rate) - this.emitted;
      if (due <= 0) {
        await sleep(Math.max(1, ((this.emitted + 1) / rate) * 1000 - (performance.now() - this.startedAt)));
        if (this.stopped) return null;
      }
      size = Math.max(1, Math.min(left, due));
    }
    const first = this.emitted;
    const values: Buffer[] = new Array(size);
    const keys: Buffer[] = new Array(size);
    const timestamps = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const ts = this.config.clock === 'wall' ? Date.now() : this.config.startTs + (first + i) * this.config.stepMs;
      const { key, line } = this.plant.next(ts);
      values[i] = Buffer.from(line);
      keys[i] = key;
      timestamps[i] = ts;
    }
    this.emitted += size;
    return { partition: 0, values, keys, timestamps, position: (i) => ({ stream: 'generator', index: first + i }) };
  }

  async commit(): Promise<readonly number[]> {
    return [];
  }

  lag(): number | undefined {
    if (this.config.rate <= 0) return undefined;
    const due = ((performance.now() - this.startedAt) / 1000) * this.config.rate;
    return Math.max(0, Math.floor(due - this.emitted));
  }

  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {}
}
