// cluster-key-slot (ioredis's own dependency) ships no types: the CRC16 hash slot of a key, 0-16383.
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | Buffer): number;
}
