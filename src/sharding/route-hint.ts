const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const KEY = Buffer.from('"zone_id"');

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * Finds the byte range of a reading's zone_id without parsing the JSON, so the
 * coordinator can route unkeyed records cheaply. It answers only when the
 * answer is certain for any valid reading: no backslash anywhere (so no escaped
 * keys or quotes), exactly one `"zone_id"` key, followed by a plain string.
 * Otherwise it returns undefined and the caller parses the record.
 *
 * `record` is one record's bytes (a view, not the whole batch). Returns the
 * [start, end) of the zone_id's bytes within it, or undefined.
 */
export function zoneIdRange(record: Buffer): [number, number] | undefined {
  if (record.indexOf(BACKSLASH) !== -1) return undefined;
  const at = record.indexOf(KEY);
  if (at === -1 || record.indexOf(KEY, at + 1) !== -1) return undefined;
  const end = record.length;
  let i = at + KEY.length;
  while (i < end && isSpace(record[i] as number)) i++;
  if (record[i] !== COLON) return undefined;
  i++;
  while (i < end && isSpace(record[i] as number)) i++;
  if (record[i] !== QUOTE) return undefined;
  const valueStart = i + 1;
  const valueEnd = record.indexOf(QUOTE, valueStart);
  if (valueEnd === -1) return undefined;
  return [valueStart, valueEnd];
}
