/**
 * Zone state memory at several zone counts, each measured in a fresh
 * process (bench/zone-memory.ts: one in-process shard, one reading per zone)
 * so that what an earlier part left in the heap does not count: heap +
 * ArrayBuffers per zone and resident memory (RSS) per zone. Snapshot time and
 * bytes at the same zone counts are the recovery part's (recovery.md).
 *
 *   npm run bench -- --only memory [--memory-zones 10000,100000]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { environment, table, writeResult } from './environment.js';
import type { measureZoneMemory } from './zone-memory.js';

export type ZoneMemory = ReturnType<typeof measureZoneMemory>;

export function zoneMemory(zoneCounts: number[]): ZoneMemory[] {
  const runs = zoneCounts.map((zones) => {
    process.stderr.write(`[bench memory] ${zones.toLocaleString('en-US')} zones…\n`);
    const out = execFileSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'zone-memory.js'), '--zones', String(zones)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out.toString().trim().split('\n').pop() ?? '{}') as ZoneMemory;
  });
  const rows = runs.map((m) => ({
    zones: n(m.zones),
    'typed-array state/zone': `${n(m.stateBytesPerZone)} B`,
    'heap + buffers/zone': `${n(Math.round(m.measuredBytesPerZone))} B`,
    'resident (RSS) growth/zone': `${n(Math.round(m.residentBytesPerZone))} B`,
    'process RSS after': `${n(Math.round(m.rssAfterBytes / 2 ** 20))} MiB`,
  }));
  const markdown = `# Zone state memory

Default config (W = 500, 1 s panes, 4 rule types). Each zone count in a fresh Node process (\`--expose-gc\`): one shard, one reading per zone (a zone's arrays are allocated whole at its first reading), garbage collected before and after. "heap + buffers" is the growth of heapUsed + arrayBuffers; "resident growth" that of the process RSS over the same span. Target: < 12 KB per zone. Snapshot time and bytes at these zone counts: [recovery.md](recovery.md).

${table(rows)}

Measured ${new Date().toISOString()} on ${JSON.stringify(environment())}.
`;
  writeResult('memory', { environment: environment(), runs }, markdown);
  process.stdout.write(`${markdown}\n`);
  return runs;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}
