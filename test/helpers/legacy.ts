import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Zone images as Klaxon wrote them before live rules (snapshot format 2): test/fixtures/legacy/make-format2-snapshot.mjs. */
export interface LegacySnapshot {
  /** The rules part of the config they were made under. */
  rules: Record<string, unknown>;
  /** The stream (streams.ts randomStream options) whose first `cut` lines they hold. */
  stream: { seed: number; lines: number; zones: number; paneMs: number };
  cut: number;
  /** The rules fingerprint the old engine wrote into the snapshot's meta. */
  fingerprint: string;
  /** Each zone's FIRING flags, in rule order, as the old engine held them. */
  firing: Record<string, number[]>;
  /** Each zone's image, base64. */
  zones: Record<string, string>;
}

export function readLegacySnapshot(): LegacySnapshot {
  return JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../test/fixtures/legacy/format2-snapshot.json'), 'utf8')) as LegacySnapshot;
}
