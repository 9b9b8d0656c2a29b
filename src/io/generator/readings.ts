/**
 * A synthetic plant: zones with a base temperature, slow drift and sensor
 * noise, plus occasional spikes (one-reading outliers) and heat waves (a
 * zone climbs 15–30% over a few minutes and cools down again), so every rule
 * type has something to find. Deterministic for a seed.
 */
export interface PlantOptions {
  zones: number;
  devicesPerZone: number;
  seed: number;
  spikeRate: number;
  heatWaveRate: number;
  /** Share of lines that are malformed on purpose (to exercise dead letters). */
  badRate: number;
}

interface ZoneModel {
  id: string;
  key: Buffer;
  base: number;
  noise: number;
  phase: number;
  /** Readings left in the current heat wave (0: none). */
  wave: number;
  waveLength: number;
  waveHeight: number;
}

/**
 * Malformed lines, each with the key a producer keying by zone_id would give
 * it: they are dead letters and nothing else (keyed by another zone, they also
 * warned the demo's viewer about keys).
 */
const BAD_LINES: ReadonlyArray<{ line: string; key: Buffer }> = [
  { line: 'not json', key: Buffer.alloc(0) },
  { line: '{"zone_id":"z","device_id":"d","temperature":"72.5"}', key: Buffer.from('z') },
  { line: '{"zone_id":"","device_id":"d","temperature":1}', key: Buffer.alloc(0) },
  { line: '[1,2,3]', key: Buffer.alloc(0) },
  { line: '{"zone_id":"z","device_id":"d","temperature":70,"ts":1.5}', key: Buffer.from('z') },
];

/** mulberry32: small, fast, good enough for synthetic data, and the same on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Plant {
  private readonly random: () => number;
  private readonly zones: ZoneModel[];
  private spare: number | undefined;

  constructor(private readonly options: PlantOptions) {
    this.random = seededRandom(options.seed);
    this.zones = Array.from({ length: options.zones }, (_, i) => {
      const id = `zone-${i}`;
      return {
        id,
        key: Buffer.from(id),
        base: 55 + this.random() * 25,
        noise: 0.2 + this.random() * 1.0,
        phase: this.random() * Math.PI * 2,
        wave: 0,
        waveLength: 0,
        waveHeight: 0,
      };
    });
  }

  /** One reading line (JSON text) and its key; zones are picked uniformly at random. */
  next(ts: number): { key: Buffer; line: string } {
    const zone = this.zones[Math.floor(this.random() * this.zones.length)] as ZoneModel;
    if (this.options.badRate > 0 && this.random() < this.options.badRate) {
      return BAD_LINES[Math.floor(this.random() * BAD_LINES.length)] as { line: string; key: Buffer };
    }
    const device = `dev-${zone.id.slice(5)}-${Math.floor(this.random() * this.options.devicesPerZone)}`;
    const drift = Math.sin(ts / 600_000 + zone.phase) * 2;
    let temperature = zone.base + drift + this.gaussian() * zone.noise;
    if (zone.wave === 0 && this.random() < this.options.heatWaveRate) {
      zone.waveLength = 200 + Math.floor(this.random() * 400);
      zone.wave = zone.waveLength;
      zone.waveHeight = 0.15 + this.random() * 0.15;
    }
    if (zone.wave > 0) {
      // Up and down again: a triangle over the wave's length.
      const progress = 1 - zone.wave / zone.waveLength;
      temperature *= 1 + zone.waveHeight * (1 - Math.abs(2 * progress - 1));
      zone.wave--;
    }
    if (this.random() < this.options.spikeRate) temperature += 12 + this.random() * 20;
    const line = `{"device_id":"${device}","zone_id":"${zone.id}","temperature":${Math.round(temperature * 1000) / 1000},"ts":${ts}}`;
    return { key: zone.key, line };
  }

  // Box–Muller, keeping the second value for the next call.
  private gaussian(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const u = Math.max(this.random(), Number.MIN_VALUE);
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}
