import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatusLines } from '../../src/terminal.js';

const ERASE = '\r\u001b[2K';
const UP = '\u001b[1A\u001b[2K';

/** A terminal that records what is written to it. */
function recorder(columns = 40, isTTY = true) {
  const out = { isTTY, columns, text: '', write: (text: string) => (out.text += text) };
  return out;
}

test('a line printed while status lines show goes above them: erased, printed, drawn again', () => {
  const out = recorder();
  const status = new StatusLines(out);
  status.set(['dashboard http://x/', '10 read']);
  assert.equal(out.text, `${ERASE}dashboard http://x/\n10 read`);
  out.text = '';
  status.printAbove(() => out.write('FIRING zone-1\n'));
  assert.equal(out.text, `${ERASE}${UP}FIRING zone-1\ndashboard http://x/\n10 read`);
  out.text = '';
  status.set(['dashboard http://x/', '20 read']);
  assert.equal(out.text, `${ERASE}${UP}dashboard http://x/\n20 read`, 'redrawn in place');
  out.text = '';
  status.clear();
  assert.equal(out.text, `${ERASE}${UP}`);
  out.text = '';
  status.printAbove(() => out.write('resolved\n'));
  assert.equal(out.text, 'resolved\n', 'nothing to erase once cleared');
});

test('a status line wider than the terminal is cut (a wrapped line could not be erased)', () => {
  const out = recorder(10);
  new StatusLines(out).set(['0123456789abcdef']);
  assert.equal(out.text, `${ERASE}01234567…`);
});

test('no terminal: no status lines, printing is plain', () => {
  const out = recorder(40, false);
  const status = new StatusLines(out);
  status.set(['10 read']);
  status.printAbove(() => out.write('line\n'));
  status.clear();
  assert.equal(out.text, 'line\n');
});
