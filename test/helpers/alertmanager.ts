import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { waitFor } from './kafka.js';
import { freePort } from './ports.js';
import { tempDir } from './run-engine.js';

/** The Alertmanager `services/up.sh` starts (npm test runs it first). */
export const ALERTMANAGER_URL = process.env.KLAXON_ALERTMANAGER_URL ?? 'http://127.0.0.1:19094';
/** Debian's package names the binary so (upstream: `alertmanager`). */
const BINARY = process.env.KLAXON_ALERTMANAGER_BIN ?? 'prometheus-alertmanager';

/** An alert as `GET /api/v2/alerts` lists it (the fields the tests read). */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  status: { state: string };
}

/** The active alerts whose labels match every `labels` pair (Alertmanager filters them itself). */
export async function activeAlerts(url: string, labels: Record<string, string>): Promise<GettableAlert[]> {
  const query = new URLSearchParams({ active: 'true', silenced: 'true', inhibited: 'true', unprocessed: 'true' });
  for (const [name, value] of Object.entries(labels)) query.append('filter', `${name}=${JSON.stringify(value)}`);
  const response = await fetch(`${url}/api/v2/alerts?${query}`);
  if (!response.ok) throw new Error(`GET /api/v2/alerts: ${response.status} ${await response.text()}`);
  return (await response.json()) as GettableAlert[];
}

export interface OwnAlertmanager {
  url: string;
  /** Stops it (SIGTERM) and starts it again on the same port and data dir: its alerts are gone (it keeps them in memory). */
  restart(): Promise<void>;
}

/**
 * An Alertmanager of the test's own (the binary services/up.sh installs, on a
 * free loopback port and a temp data dir, clustering off), for tests that
 * restart it; the shared one is never touched. With `notify`, it sends its
 * notifications (firing and resolved) to that URL at once.
 */
export async function ownAlertmanager(t: TestContext, options: { notify?: string } = {}): Promise<OwnAlertmanager> {
  const dir = await tempDir(t);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dir, 'alertmanager.yml');
  const receiver =
    options.notify === undefined ? '  - name: test' : `  - name: test\n    webhook_configs:\n      - url: ${options.notify}\n        send_resolved: true`;
  // Notify at once and per alert: the test waits for each notification.
  await writeFile(
    configFile,
    `route:\n  receiver: test\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n${receiver}\n`,
  );
  const log = createWriteStream(join(dir, 'alertmanager.log'), { flags: 'a' });
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      BINARY,
      [`--config.file=${configFile}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    await waitFor(
      async () => {
        if (child?.exitCode !== null) throw new Error(`alertmanager exited (code ${child?.exitCode}); see ${join(dir, 'alertmanager.log')}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
      },
      'the test Alertmanager to be ready',
      30_000,
    );
    return { exited };
  };
  let { exited } = await start();
  const stop = async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  t.after(stop);
  return {
    url,
    async restart() {
      await stop();
      ({ exited } = await start());
    },
  };
}
