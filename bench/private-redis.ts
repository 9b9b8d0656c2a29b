/**
 * A redis-server of the bench's own on a free port (no persistence), so that
 * gigabytes of snapshots neither crowd the shared Redis nor blur its
 * used_memory. Shut down (nosave) by stop(), also after a failure.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BenchRedis {
  url: string;
  port: number;
  /** Redis's used_memory, in bytes. */
  usedMemory(): number;
  stop(): void;
}

export async function startPrivateRedis(): Promise<BenchRedis> {
  const port = await freePort();
  execFileSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes']);
  const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  for (let attempt = 0; ; attempt++) {
    try {
      if (cli('ping').includes('PONG')) break;
    } catch {}
    if (attempt > 100) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    await sleep(100);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    usedMemory: () => Number(/^used_memory:(\d+)/m.exec(cli('info', 'memory'))?.[1]),
    stop: () => {
      try {
        cli('shutdown', 'nosave');
      } catch {}
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
