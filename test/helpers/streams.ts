/**
 * Random reading streams for property tests: a few zones, values with
 * sensor-like rounding, clocks that jitter, run out of order, jump ahead
 * past the pane ring, and send late readings; plus malformed lines.
 */
import { seededRandom } from '../../src/io/generator/readings.js';

export interface StreamOptions {
  seed: number;
  lines: number;
  zones: number;
  paneMs: number;
  /** Share of malformed lines. */
  badRate?: number;
}

const BAD = [
  'not json',
  '{"zone_id":"z","device_id":"d","temperature":"72.5"}',
  '{"zone_id":"","device_id":"d","temperature":1,"ts":5}',
  '[1,2,3]',
  'null',
  '{"zone_id":"z","device_id":"d","temperature":70,"ts":1.5}',
  '{"zone_id":"z","device_id":"d","temperature":1e999,"ts":5}',
  '{"zone_id":"z","device_id":"d","ts":5}',
  '',
];

export function randomStream(options: StreamOptions): string[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const zones = Array.from({ length: options.zones }, (_, i) => ({
    id: pick([`zone-${i}`, `Zone ${String.fromCharCode(65 + (i % 26))}/${i}`, `zoné-${i}`, `z\\"${i}`]),
    base: pick([0, 20, 70, -5, 1e6]) + random() * 10,
    noise: pick([0, 0.001, 0.5, 3]),
    clock: 1_760_000_000_000 + Math.floor(random() * 5_000),
  }));
  const lines: string[] = [];
  for (let i = 0; i < options.lines; i++) {
    if (random() < (options.badRate ?? 0.02)) {
      lines.push(pick(BAD));
      continue;
    }
    const zone = pick(zones);
    const roll = random();
    if (roll < 0.01)
      zone.clock += options.paneMs * (20 + Math.floor(random() * 400)); // a gap past the ring
    else zone.clock += Math.floor(random() * options.paneMs * 0.7);
    let ts = zone.clock;
    if (roll > 0.97)
      ts -= Math.floor(random() * options.paneMs * 40); // late, maybe too late
    else if (roll > 0.9) ts -= Math.floor(random() * options.paneMs * 2); // a little out of order
    let value = zone.base + (random() - 0.5) * 2 * zone.noise;
    if (random() < 0.03) value += pick([-1, 1]) * (5 + random() * 20); // spike
    if (random() < 0.02) value = zone.base; // repeats give σ = 0 stretches
    const temperature = Math.round(value * 1000) / 1000;
    const zoneJson = JSON.stringify(zone.id);
    const extra = random() < 0.1 ? ',"humidity":40.5' : '';
    const spaced = random() < 0.3;
    lines.push(
      spaced
        ? `{"device_id": "d-${i % 3}", "zone_id": ${zoneJson}, "temperature": ${temperature}, "ts": ${Math.max(0, ts)}${extra}}`
        : `{"device_id":"d-${i % 3}","zone_id":${zoneJson},"temperature":${temperature},"ts":${Math.max(0, ts)}${extra}}`,
    );
  }
  return lines;
}
