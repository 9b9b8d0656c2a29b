/**
 * Records in order, cut into runs of at most `maxBytes` (a record larger than
 * that is a run of its own), each with its size. A sink sends one run per request: a broker
 * refuses a partition's batch over its message size limit (Kafka's 1 MiB by
 * default), and all of one write in one request passed it once alerts came
 * thick (a backlog of 200,000 zones, every reading alerting).
 */
export function byteChunks<T>(records: readonly T[], maxBytes: number, sizeOf: (record: T) => number): Array<{ records: T[]; bytes: number }> {
  const chunks: Array<{ records: T[]; bytes: number }> = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push({ records: chunk, bytes });
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push({ records: chunk, bytes });
  return chunks;
}
