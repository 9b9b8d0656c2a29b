import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { Plant } from '../src/io/generator/readings.js';

export interface StreamSpec {
  readings: number;
  zones: number;
  seed: number;
}

/** Writes a generated NDJSON stream once (cached by its name); returns its path. */
export async function ensureStream(path: string, spec: StreamSpec): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const plant = new Plant({ zones: spec.zones, devicesPerZone: 4, seed: spec.seed, spikeRate: 0.002, heatWaveRate: 0.0003, badRate: 0.0005 });
  const out = createWriteStream(`${path}.partial`);
  let chunk = '';
  for (let i = 0; i < spec.readings; i++) {
    // Simulated time: each zone reads about once a second.
    chunk += `${plant.next(1_760_000_000_000 + Math.floor((i * 1000) / spec.zones)).line}\n`;
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
