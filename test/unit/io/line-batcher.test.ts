import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineBatcher } from '../../../src/io/line-batcher.js';
import type { RecordPosition, BufferBatch as SourceBatch } from '../../../src/io/types.js';

async function* chunksOf(parts: ReadonlyArray<string | Buffer>): AsyncGenerator<Buffer> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

const describeLine = (line: number): RecordPosition => ({
  file: 'in.ndjson',
  line,
});

async function drain(parts: ReadonlyArray<string | Buffer>, batchSize = 1_000): Promise<SourceBatch[]> {
  const batcher = new LineBatcher(chunksOf(parts), batchSize, describeLine);
  const batches: SourceBatch[] = [];
  for (let batch = await batcher.next(); batch !== null; batch = await batcher.next()) batches.push(batch);
  assert.equal(await batcher.next(), null, 'stays drained');
  await batcher.close();
  return batches;
}

async function lines(parts: ReadonlyArray<string | Buffer>): Promise<string[]> {
  return (await drain(parts)).flatMap((b) => b.values.map((v) => v.toString('utf8')));
}

describe('LineBatcher', () => {
  test('joins lines split across chunk boundaries, including inside multibyte characters', async () => {
    const text = '{"zone_id":"é"}\n{"zone_id":"🔥"}\n';
    const bytes = Buffer.from(text, 'utf8');
    // Every split point, byte by byte.
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(await lines([bytes.subarray(0, cut), bytes.subarray(cut)]), ['{"zone_id":"é"}', '{"zone_id":"🔥"}'], `cut at ${cut}`);
    }
    const oneByteChunks = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(await lines(oneByteChunks), ['{"zone_id":"é"}', '{"zone_id":"🔥"}']);
  });

  test('CRLF line endings lose the CR, also when CR and LF are in different chunks', async () => {
    assert.deepEqual(await lines(['a\r\nb\r\n']), ['a', 'b']);
    assert.deepEqual(await lines(['a\r', '\nb\r', '\n']), ['a', 'b']);
    assert.deepEqual(await lines(['a\r\nb\r']), ['a', 'b'], 'a CR on an unterminated last line goes too');
  });

  test('blank lines in the middle are records', async () => {
    assert.deepEqual(await lines(['a\n\nb\n\r\nc\n']), ['a', '', 'b', '', 'c']);
    assert.deepEqual(await lines(['\n']), ['']);
  });

  test('a final newline adds no record; a last line without newline is a record', async () => {
    assert.deepEqual(await lines(['a\nb\n']), ['a', 'b']);
    assert.deepEqual(await lines(['a\nb']), ['a', 'b']);
    assert.deepEqual(await lines(['a\n', 'b']), ['a', 'b']);
    assert.deepEqual(await lines([]), []);
    assert.deepEqual(await lines(['']), []);
    assert.equal((await drain([])).length, 0);
  });

  test('a UTF-8 BOM at the start is dropped, even when split across chunks; later ones are kept', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    assert.deepEqual(await lines([Buffer.concat([bom, Buffer.from('a\nb\n')])]), ['a', 'b']);
    assert.deepEqual(await lines([bom.subarray(0, 1), Buffer.concat([bom.subarray(1), Buffer.from('a\n')])]), ['a']);
    const second = await lines([Buffer.concat([Buffer.from('a\n'), bom, Buffer.from('b\n')])]);
    assert.deepEqual(second, ['a', '\ufeffb']);
  });

  test('batches respect batchSize and keep order', async () => {
    const input = Array.from({ length: 23 }, (_, i) => `line-${i + 1}\n`);
    const batches = await drain([input.slice(0, 5).join(''), input.slice(5).join('')], 10);
    assert.deepEqual(
      batches.map((b) => b.values.length),
      [10, 10, 3],
    );
    const all = batches.flatMap((b) => b.values.map((v) => v.toString()));
    assert.deepEqual(
      all,
      input.map((l) => l.trimEnd()),
    );
    for (const batch of batches) {
      assert.equal(batch.partition, 0);
      assert.equal(batch.keys, null);
      assert.equal(batch.timestamps.length, batch.values.length);
    }
  });

  test('position(i) gives 1-based line numbers across batches', async () => {
    const batches = await drain(['a\n\nc\nd\ne\nf\ng'], 3);
    assert.deepEqual(
      batches.map((b) => b.values.length),
      [3, 3, 1],
    );
    const positions = batches.flatMap((b) => b.values.map((_, i) => b.position(i)));
    assert.deepEqual(
      positions,
      [1, 2, 3, 4, 5, 6, 7].map((line) => ({ file: 'in.ndjson', line })),
    );
  });

  test('a BOM does not shift line numbers', async () => {
    const batches = await drain([Buffer.from('\ufeffx\ny\n', 'utf8')], 1);
    assert.deepEqual(
      batches.map((b) => [b.values[0]?.toString(), b.position(0)]),
      [
        ['x', { file: 'in.ndjson', line: 1 }],
        ['y', { file: 'in.ndjson', line: 2 }],
      ],
    );
  });

  test('stop() ends a next() that is waiting for input', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('a\nb');
      await gate; // a stdin that never sends more until released
      yield Buffer.from('\n');
    }
    const batcher = new LineBatcher(slow(), 10, describeLine);
    const pending = batcher.next();
    // Let the batcher take the first chunk and block on the second.
    await new Promise<void>((resolve) => setImmediate(resolve));
    batcher.stop();
    const batch = await pending;
    assert.ok(batch);
    assert.deepEqual(
      batch.values.map((v) => v.toString()),
      ['a'],
    );
    release();
    await batcher.close();
  });
});

test('a quiet input hands on the lines it has instead of waiting for a full batch', async () => {
  let release: () => void = () => {};
  const later = new Promise<void>((resolve) => {
    release = resolve;
  });
  async function* slowPipe(): AsyncGenerator<Buffer> {
    yield Buffer.from('{"a":1}\n{"a":2}\n');
    await later; // nothing more until the test says so
    yield Buffer.from('{"a":3}\n');
  }
  const batcher = new LineBatcher(slowPipe(), 1000, (line) => ({ file: 'pipe', line }));
  const first = await batcher.next();
  assert.deepEqual(first?.values.map(String), ['{"a":1}', '{"a":2}']);
  release();
  const second = await batcher.next();
  assert.deepEqual(second?.values.map(String), ['{"a":3}']);
  assert.deepEqual(second?.position(0), { file: 'pipe', line: 3 });
  assert.equal(await batcher.next(), null);
});
