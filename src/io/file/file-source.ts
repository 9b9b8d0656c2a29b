import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { SourceError } from '../../errors.js';
import { LineSource } from '../line-source.js';

/** An NDJSON file, read once; dead letters name `{file, line}`. Fails early, with the path, if it cannot be read. */
export async function openFileSource(path: string, batchSize: number): Promise<LineSource> {
  try {
    await access(path);
  } catch (error) {
    throw new SourceError(`cannot read the input file ${path}`, { cause: error });
  }
  return new LineSource(createReadStream(path, { highWaterMark: 1 << 20 }), batchSize, (line) => ({ file: path, line }));
}
