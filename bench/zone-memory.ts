import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { Shard } from '../src/engine/shard.js';
import { linesTask } from '../src/protocol/messages.js';
import { DEFAULT_RULES } from './rules.js';
import { intervalAt, zoneTemplates } from './zone-templates.js';

export type Fill = 'one' | 'full';

/**
 * Memory of zone state in one in-process shard: `zones` zones, each either
 * new (`one`: one reading) or long-running (`full`: restored from images of
 * zones with a full history, read every zones / 150,000 s, as
 * bench/zone-templates.ts makes them), then the growth of the V8 heap, of
 * ArrayBuffers and of resident memory (meaningful in a fresh process: `node
 * --expose-gc zone-memory.js --zones N --fill full` prints the figures as JSON).
 */
export function measureZoneMemory(zones: number, rules: Record<string, unknown>, fill: Fill = 'one') {
  const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...rules }, { baseDir: '/' });
  const setup = { window: config.window, versions: config.versions };
  const templates = fill === 'full' ? zoneTemplates(setup, intervalAt(zones)) : [];
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: setup });
  const batch = 10_000;
  for (let start = 0; start < zones; start += batch) {
    const ids = Array.from({ length: Math.min(zones, start + batch) - start }, (_, k) => `zone-${start + k}`);
    if (fill === 'full') {
      shard.restore(
        ids,
        ids.map((_, k) => templates[(start + k) % templates.length] as Uint8Array),
      );
    } else {
      shard.process(linesTask(ids.map((id, k) => `{"zone_id":"${id}","device_id":"dev-${start + k}-0","temperature":70.5,"ts":1760000000000}`)));
    }
  }
  gc?.();
  const after = process.memoryUsage();
  const measuredBytes = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  const residentBytes = after.rss - before.rss;
  return {
    zones: shard.zones.size,
    fill,
    residentBytes,
    residentBytesPerZone: residentBytes / shard.zones.size,
    rssAfterBytes: after.rss,
    stateBytesPerZone: shard.bytesPerZone,
    heapBytesPerZone: (after.heapUsed - before.heapUsed) / shard.zones.size,
    arrayBufferBytesPerZone: (after.arrayBuffers - before.arrayBuffers) / shard.zones.size,
    measuredBytes,
    measuredBytesPerZone: measuredBytes / shard.zones.size,
    gcExposed: gc !== undefined,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { zones: { type: 'string', default: '100000' }, fill: { type: 'string', default: 'one' } } });
  process.stdout.write(`${JSON.stringify(measureZoneMemory(Number(values.zones), DEFAULT_RULES, values.fill === 'full' ? 'full' : 'one'))}\n`);
}
