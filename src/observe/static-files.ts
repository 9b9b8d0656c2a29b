import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/**
 * The dashboard's files. They are not compiled, so they are served from the
 * source folder (dist/src/observe/ → src/observe/dashboard/), and uPlot from
 * node_modules. Only these routes exist: nothing else on disk is reachable.
 */
const DASHBOARD_DIR = resolve(import.meta.dirname, '../../../src/observe/dashboard');
const uplotDist = resolve(createRequire(import.meta.url).resolve('uplot'), '..');

const ROUTES: Record<string, { path: string; type: string }> = {
  '/': { path: join(DASHBOARD_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { path: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { path: join(DASHBOARD_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  // uPlot ships its minified build only as a classic script (a global `uPlot`).
  '/vendor/uPlot.iife.min.js': { path: join(uplotDist, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { path: join(uplotDist, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export interface StaticFile {
  body: Buffer;
  /** The same bytes gzipped once, for browsers that take it (uPlot goes from 51 KB to about 23 KB). */
  gzipped: Buffer;
  type: string;
}

const cache = new Map<string, Promise<StaticFile>>();

/** The file for a route, read once; undefined for any other route. */
export function staticFile(route: string): Promise<StaticFile> | undefined {
  const entry = ROUTES[route];
  if (entry === undefined) return undefined;
  let file = cache.get(route);
  if (file === undefined) {
    file = readFile(entry.path).then(async (body) => ({ body, gzipped: await promisify(gzip)(body), type: entry.type }));
    // A failed read (files missing from an install) is retried next time rather than cached.
    file.catch(() => cache.delete(route));
    cache.set(route, file);
  }
  return file;
}
