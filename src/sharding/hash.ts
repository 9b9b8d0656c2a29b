/**
 * 32-bit hash of UTF-8 bytes: FNV-1a mixed by MurmurHash3's finaliser so nearby
 * keys ("zone-1", "zone-2") land far apart on the ring. The coordinator hashes
 * raw record bytes and the workers hash decoded strings; both see the same bytes.
 */
export function hashBytes(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

const encoder = new TextEncoder();

export function hashString(text: string): number {
  return hashBytes(encoder.encode(text));
}

function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
