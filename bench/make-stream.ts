import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { Plant } from '../src/io/generator/readings.js';

export interface StreamSpec {
  readings: number;
  zones: number;
  seed: number;
}

/** The plant every bench reads from: spikes, heat waves and a few malformed lines, so every rule and the dead letters see work. */
export function benchPlant(spec: Pick<StreamSpec, 'zones' | 'seed'>): Plant {
  return new Plant({ zones: spec.zones, devicesPerZone: 4, seed: spec.seed, spikeRate: 0.002, heatWaveRate: 0.0003, badRate: 0.0005 });
}

/** Simulated time of reading i: each zone reads about once a second. */
export function readingTs(i: number, zones: number): number {
  return 1_760_000_000_000 + Math.floor((i * 1000) / zones);
}

/** Writes a generated NDJSON stream once (cached by its name); returns its path. */
export async function ensureStream(path: string, spec: StreamSpec): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const plant = benchPlant(spec);
  const out = createWriteStream(`${path}.partial`);
  let chunk = '';
  for (let i = 0; i < spec.readings; i++) {
    chunk += `${plant.next(readingTs(i, spec.zones)).line}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.once('finish', () => r()));
  renameSync(`${path}.partial`, path);
  return path;
}
