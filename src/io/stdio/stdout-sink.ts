import type { Writable } from 'node:stream';
import { BufferedSink, toLines } from '../buffered-sink.js';
import type { OutRecord } from '../types.js';
import { prettyAlert } from './pretty.js';

/** Lines to standard output: JSON as is, or alerts formatted for a person. */
export class StdoutSink extends BufferedSink {
  protected readonly name = 'standard output';
  private readonly colour: boolean;

  constructor(
    private readonly pretty: boolean,
    private readonly out: Writable & { isTTY?: boolean } = process.stdout,
  ) {
    // A person is watching: show alerts within a blink, not at the next chunk.
    super({ lingerMs: 50 });
    this.colour = pretty && out.isTTY === true;
  }

  protected deliver(records: OutRecord[]): Promise<void> {
    const text = this.pretty ? toLines(records, (r) => prettyAlert(r.value, this.colour)) : toLines(records);
    return new Promise((resolve, reject) => {
      this.out.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }

  // Standard output belongs to the process; leave it open.
  protected async release(): Promise<void> {}
}
