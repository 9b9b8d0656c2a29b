import type { OutRecord, RecordPosition } from '../io/types.js';

const MAX_RAW_BYTES = 64 * 1024;

/** The dead-letter object of contract §5: why, the original text (cut at 64 KiB), and where it came from. */
export function deadLetter(reason: string, raw: Buffer, source: RecordPosition): OutRecord {
  let cut = raw.length > MAX_RAW_BYTES ? raw.subarray(0, MAX_RAW_BYTES) : raw;
  // Do not split a UTF-8 sequence at the cut: back up to the start of the last character.
  if (cut !== raw) {
    let end = cut.length;
    while (end > 0 && ((cut[end - 1] as number) & 0xc0) === 0x80) end--;
    if (end > 0 && (cut[end - 1] as number) >= 0xc0) end--;
    cut = cut.subarray(0, end);
  }
  // No key: a dead letter may have no zone, and its order does not matter.
  return { key: '', value: JSON.stringify({ reason, raw: cut.toString('utf8'), source }) };
}
