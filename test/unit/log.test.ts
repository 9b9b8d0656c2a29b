import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const LOG = pathToFileURL(join(import.meta.dirname, '../../src/log.js')).href;

/** What a process that logs one retry warning (with its error) writes on stderr, in the given format and level. */
function warning(format: string, level: string): string {
  const script = `
    const { logger } = await import(${JSON.stringify(LOG)});
    logger('kafka-sink').warn({ err: new Error('connect ECONNREFUSED 127.0.0.1:1'), attempt: 3 }, 'sending failed, retrying');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, KLAXON_LOG_FORMAT: format, KLAXON_LOG_LEVEL: level, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  return child.stderr;
}

test('pretty: one short line, the error as its message, no stack', () => {
  assert.match(
    warning('pretty', 'info'),
    /^\[\d\d:\d\d:\d\d\] WARN: kafka-sink: sending failed, retrying \{"attempt":3,"error":"connect ECONNREFUSED 127\.0\.0\.1:1"\}\n$/,
  );
});

test('pretty at debug level: the stack comes along', () => {
  assert.match(warning('pretty', 'debug'), /WARN: kafka-sink: sending failed, retrying[\s\S]*err: \{[\s\S]*at /);
});

test('json: one object a line, with the error and its stack', () => {
  const lines = warning('json', 'info').trim().split('\n');
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0] as string);
  assert.equal(record.level, 40);
  assert.equal(record.component, 'kafka-sink');
  assert.equal(record.msg, 'sending failed, retrying');
  assert.equal(record.err.message, 'connect ECONNREFUSED 127.0.0.1:1');
  assert.match(record.err.stack, /^Error: connect ECONNREFUSED/);
});
