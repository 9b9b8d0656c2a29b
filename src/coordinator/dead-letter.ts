import type { OutRecord, RecordPosition } from '../io/types.js';

const MAX_RAW_BYTES = 64 * 1024;

/** The dead-letter object of contract §5: why, the original text (cut at 64 KiB), and where it came from. */
export function deadLetter(reason: string, raw: Buffer, source: RecordPosition): OutRecord {
  let cut = raw.length > MAX_RAW_BYTES ? raw.subarray(0, MAX_RAW_BYTES) : raw;
  if (cut !== raw) cut = cut.subarray(0, wholeCharacters(cut));
  // No key: a dead letter may have no zone, and its order does not matter.
  return { key: '', value: JSON.stringify({ reason, raw: cut.toString('utf8'), source }) };
}

/** Length of the prefix of `bytes` that does not end inside a UTF-8 sequence. */
function wholeCharacters(bytes: Buffer): number {
  let lead = bytes.length;
  while (lead > 0 && lead > bytes.length - 4 && ((bytes[lead - 1] as number) & 0xc0) === 0x80) lead--;
  if (lead === 0) return bytes.length;
  const first = bytes[lead - 1] as number;
  const size = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  // A complete last character stays; a cut one goes.
  return bytes.length - (lead - 1) >= size ? bytes.length : lead - 1;
}
