import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { Shard } from '../src/engine/shard.js';
import { linesTask } from '../src/protocol/messages.js';
import { DEFAULT_RULES } from './rules.js';

/**
 * Memory of zone state: creates `zones` zones in one in-process shard (one
 * reading each; a zone's arrays are allocated whole at its first reading)
 * and measures heap plus ArrayBuffer growth, and resident memory growth
 * (meaningful in a fresh process: `node --expose-gc zone-memory.js --zones N`
 * prints the figures as JSON).
 */
export function measureZoneMemory(zones: number, rules: Record<string, unknown>) {
  const config = parseConfig({ source: { type: 'stdin' }, sink: { type: 'stdout' }, ...rules }, { baseDir: '/' });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const shard = new Shard({ shard: 0, shards: 1, virtualNodes: 8, rules: { window: config.window, versions: config.versions } });
  const batch = 10_000;
  for (let start = 0; start < zones; start += batch) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(zones, start + batch); i++) {
      lines.push(`{"zone_id":"zone-${i}","device_id":"dev-${i}-0","temperature":70.5,"ts":1760000000000}`);
    }
    shard.process(linesTask(lines));
  }
  gc?.();
  const after = process.memoryUsage();
  const measuredBytes = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  const residentBytes = after.rss - before.rss;
  return {
    zones: shard.zones.size,
    residentBytes,
    residentBytesPerZone: residentBytes / shard.zones.size,
    rssAfterBytes: after.rss,
    stateBytesPerZone: shard.bytesPerZone,
    measuredBytes,
    measuredBytesPerZone: measuredBytes / shard.zones.size,
    gcExposed: gc !== undefined,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { zones: { type: 'string', default: '100000' } } });
  process.stdout.write(`${JSON.stringify(measureZoneMemory(Number(values.zones), DEFAULT_RULES))}\n`);
}
