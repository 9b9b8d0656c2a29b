import { LineSource } from '../line-source.js';

/** NDJSON from standard input, until it closes. Dead letters name the line as `{file: "<stdin>", line}`. */
export function stdinSource(batchSize: number, input: AsyncIterable<Buffer> = process.stdin): LineSource {
  return new LineSource(input, batchSize, (line) => ({ file: '<stdin>', line }));
}
