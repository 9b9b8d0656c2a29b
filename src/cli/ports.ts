import { createServer } from 'node:net';

/** Whether `host:port` can be listened on now (it may be taken a moment later: a preference, not a reservation). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
