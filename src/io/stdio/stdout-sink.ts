import type { Writable } from 'node:stream';
import { terminal } from '../../terminal.js';
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
      const write = () => this.out.write(text, (error) => (error ? reject(error) : resolve()));
      // On a terminal, alerts go above the progress line, never onto it.
      if (this.out.isTTY === true) terminal.printAbove(write);
      else write();
    });
  }

  // Standard output belongs to the process; leave it open.
  protected async release(): Promise<void> {}
}
