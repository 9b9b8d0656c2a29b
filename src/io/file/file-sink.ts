import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SinkError } from '../../errors.js';
import { BufferedSink, toLines } from '../buffered-sink.js';
import type { OutRecord } from '../types.js';

/** NDJSON to a file, truncated when the run starts. flush() means handed to the OS. */
export class FileSink extends BufferedSink {
  protected readonly name: string;

  private constructor(
    private readonly handle: FileHandle,
    path: string,
  ) {
    super();
    this.name = path;
  }

  static async open(path: string): Promise<FileSink> {
    try {
      await mkdir(dirname(path), { recursive: true });
      return new FileSink(await open(path, 'w'), path);
    } catch (error) {
      throw new SinkError(`cannot open the output file ${path}`, { cause: error });
    }
  }

  protected async deliver(records: OutRecord[]): Promise<void> {
    await this.handle.write(toLines(records));
  }

  protected release(): Promise<void> {
    return this.handle.close();
  }
}
