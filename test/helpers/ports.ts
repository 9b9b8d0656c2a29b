import { createServer } from 'node:net';

/**
 * A loopback port free now, chosen by the system, for a service a test starts
 * next (an engine's HTTP server, a private broker). A port picked at random
 * could fall in the range the system gives outgoing connections and be taken
 * already: an engine's /http refused 127.0.0.1:37054 (EADDRINUSE) in a
 * clean-clone run.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
