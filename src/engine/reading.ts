import { type Reading, RejectReason } from '../model/reading.js';

export type ParseResult = Reading | RejectReason;

const MAX_TS = Number.MAX_SAFE_INTEGER;

/**
 * Validates one record's text. `defaultTs` stands in for a missing `ts`
 * (the Kafka record timestamp, or the time a file line was read).
 */
export function parseReading(text: string, defaultTs: number): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return RejectReason.notJson;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return RejectReason.notObject;
  const fields = value as Record<string, unknown>;
  const zoneId = fields.zone_id;
  if (!isIdentifier(zoneId)) return RejectReason.zoneId;
  const deviceId = fields.device_id;
  if (!isIdentifier(deviceId)) return RejectReason.deviceId;
  const temperature = fields.temperature;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature)) return RejectReason.temperature;
  const ts = fields.ts;
  if (ts === undefined) return { zoneId, deviceId, temperature, ts: defaultTs };
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0 || ts > MAX_TS) return RejectReason.ts;
  return { zoneId, deviceId, temperature, ts };
}

export function isRejection(result: ParseResult): result is RejectReason {
  return typeof result === 'string';
}

// "1..256 characters" counts code points, so an emoji is one character, not two.
function isIdentifier(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  if (value.length <= 256) return true;
  if (value.length > 512) return false;
  let count = 0;
  for (const _ of value) if (++count > 256) return false;
  return true;
}
