import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closest, editDistance } from '../../../src/config/suggest.js';

describe('editDistance', () => {
  test('counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
    assert.equal(editDistance('workers', 'workers'), 0);
    assert.equal(editDistance('wrokers', 'workers'), 1);
    assert.equal(editDistance('worker', 'workers'), 1);
    assert.equal(editDistance('workerss', 'workers'), 1);
    assert.equal(editDistance('wirkers', 'workers'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  test('is symmetric', () => {
    for (const [a, b] of [
      ['dashbord', 'dashboard'],
      ['ab', 'ba'],
      ['colour', 'log'],
    ] as const) {
      assert.equal(editDistance(a, b), editDistance(b, a), `${a} / ${b}`);
    }
  });
});

describe('closest', () => {
  const engineKeys = ['workers', 'batchSize', 'maxQueuePerWorker', 'virtualNodes', 'instanceId'];

  test('suggests the nearest key when it is close', () => {
    assert.equal(closest('wrokers', engineKeys), 'workers');
    assert.equal(closest('batchsize', engineKeys), 'batchSize');
    assert.equal(closest('virtualNode', engineKeys), 'virtualNodes');
  });

  test('suggests nothing when no key is close', () => {
    assert.equal(closest('colour', ['engine', 'source', 'sink', 'log', 'mode', 'rules']), undefined);
    assert.equal(closest('threads', engineKeys), undefined);
    assert.equal(closest('x', []), undefined);
  });

  test('short words allow one edit', () => {
    assert.equal(closest('lg', ['log']), 'log');
    assert.equal(closest('lgx', ['log']), undefined);
  });
});
