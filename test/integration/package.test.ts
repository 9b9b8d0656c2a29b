/**
 * The package as a user gets it: `npm pack` (which builds it: prepack), the
 * tarball installed from scratch into an empty folder (its dependencies come
 * from the registry), and the installed `klaxon` run through npx.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import type { CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/run-engine.js';

const REPO = resolve(import.meta.dirname, '../../..');
/** Files an installed klaxon runs from (or must carry). */
const SHIPPED = ['LICENSE', 'README.md', 'dist/src/cli/main.js', 'dist/workers/shard-worker.js', 'src/observe/dashboard/index.html', 'cluster.config.json'];

/** Runs a command; the npm_* variables of an enclosing `npm test` are left out so the child npm works on its own folder. */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

test('npm pack → npm install in an empty folder → npx klaxon validate and demo', { timeout: 240_000 }, async (t) => {
  const dir = await tempDir(t);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], REPO);
  assert.equal(packed.code, 0, packed.stderr);
  // prepack's own output (tsc) may precede the JSON on stdout.
  const [pack] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(pack !== undefined);
  const files = pack.files.map((f) => f.path);
  for (const needed of SHIPPED) {
    assert.ok(files.includes(needed), `the package ships ${needed}`);
  }
  assert.deepEqual(
    files.filter((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.endsWith('.map') || f.endsWith('.ts')),
    [],
    'no tests, benchmarks, source maps or TypeScript in the package',
  );

  const app = join(dir, 'app');
  await mkdir(app);
  // A package.json of its own, so npm installs here and not into a folder above.
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'klaxon-install-check', private: true }));
  const installed = await run('npm', ['install', '--no-audit', '--no-fund', join(dir, pack.filename)], app);
  assert.equal(installed.code, 0, installed.stderr);

  const validate = await run('npx', ['--no', 'klaxon', 'validate', '--config', join(app, 'node_modules/klaxon/cluster.config.json')], app);
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stdout, /ok/);

  // The worker threads and the rules run from the installed files only.
  const demo = await run('npx', ['--no', 'klaxon', 'demo', '--count', '2000', '--no-dashboard', '--log-level', 'warn'], app);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stderr, /klaxon: 2,000 records \([\d,]+ accepted, [\d,]+ dead letters?\), [\d,]+ alerts? written/);
});
