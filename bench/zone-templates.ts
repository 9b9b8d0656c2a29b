import type { RulesConfig } from '../src/config/types.js';
import { Shard } from '../src/engine/shard.js';
import { zoneImage } from '../src/engine/zone-image.js';
import { seededRandom } from '../src/io/generator/readings.js';
import { linesTask } from '../src/protocol/messages.js';

/**
 * Readings per second one engine process takes with 2 workers on this
 * machine (kafka-throughput.md: 145k/s); at Z zones each zone reads every
 * Z / THROUGHPUT seconds, which decides how many of its panes hold readings.
 */
export const THROUGHPUT = 150_000;

/** The last ts of every template's readings: readings that follow a template start after it. */
export const TEMPLATE_END_TS = 1_760_000_000_000;

/**
 * Images of zones in the state a long-running deployment keeps them: a full
 * history (W readings, and more) of sensor-like decimals, read at random
 * times `intervalMs` apart on average, so that their panes are as occupied
 * as that rate makes them. `count` different ones (different seeds), for
 * zones of `partition` to be restored from: what a zone that ran for hours
 * holds, without hours of readings.
 */
export function zoneTemplates(rules: RulesConfig, intervalMs: number, count = 32, partition = 0): Uint8Array[] {
  const w = rules.window.size;
  const readings = w + Math.ceil((rules.window.retain * rules.window.paneMs) / intervalMs);
  return Array.from({ length: count }, (_, seed) => {
    const random = seededRandom(1_000 + seed);
    const times: number[] = [];
    let ts = TEMPLATE_END_TS;
    for (let i = 0; i < readings; i++) {
      times.push(ts);
      // Exponential gaps: readings at random times, `intervalMs` apart on average.
      ts -= Math.max(1, Math.round(-Math.log(1 - random()) * intervalMs));
    }
    let level = 60 + random() * 20;
    const lines = times.reverse().map((at) => {
      level += (random() - 0.5) * 0.4;
      return `{"zone_id":"t","device_id":"d","temperature":${level.toFixed(2)},"ts":${at}}`;
    });
    const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules });
    // The image names the partition its zone's readings come from: a zone restored under another one would be rewritten whole.
    shard.process(linesTask(lines, partition));
    const zone = shard.zones.get('t');
    if (zone === undefined) throw new Error('the template zone was not made');
    return zoneImage(zone, shard.book);
  });
}

/** The mean interval between one zone's readings at `zones` zones and THROUGHPUT readings/s. */
export function intervalAt(zones: number): number {
  return (zones / THROUGHPUT) * 1_000;
}
