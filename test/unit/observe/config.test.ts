import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const minimal = { source: { type: 'stdin' }, sink: { type: 'stdout' }, rules: [{ id: 'hot', type: 'threshold', above: 90 }] };

test('http is off unless configured; configured, it gets defaults for what is left out', () => {
  assert.equal(parseConfig(minimal, { baseDir: '/' }).http, undefined);
  assert.deepEqual(parseConfig({ ...minimal, http: {} }, { baseDir: '/' }).http, { port: 9464, host: '127.0.0.1', dashboard: false });
  assert.deepEqual(parseConfig({ ...minimal, http: { port: 0, dashboard: true } }, { baseDir: '/' }).http, { port: 0, host: '127.0.0.1', dashboard: true });
});

test('log.level is read when given and checked', () => {
  assert.equal(parseConfig(minimal, { baseDir: '/' }).log, undefined);
  assert.deepEqual(parseConfig({ ...minimal, log: { level: 'debug' } }, { baseDir: '/' }).log, { level: 'debug' });
  assert.throws(() => parseConfig({ ...minimal, log: { level: 'loud' } }, { baseDir: '/' }), ConfigError);
  assert.throws(() => parseConfig({ ...minimal, http: { port: 70_000 } }, { baseDir: '/' }), /\/http\/port/);
  assert.throws(() => parseConfig({ ...minimal, http: { dashbord: true } }, { baseDir: '/' }), /\/http\/dashbord: unknown key/);
});
