import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { StateError, UnreachableError } from '../errors.js';
import { redactUrl } from '../redact.js';

/** Where snapshots go: one Redis (`state.url`) or a Redis Cluster (`state.cluster`, some of its nodes). */
export type RedisTarget = { readonly url: string } | { readonly cluster: readonly string[] };

/** One Redis or a Redis Cluster, as the snapshot store uses it. */
export interface RedisConnection {
  /** Keyed commands; a Cluster sends each to the node serving its key's slot. */
  readonly client: Redis | Cluster;
  /** A Redis Cluster: a command's keys must share a slot (redis-keys.ts tags them so). */
  readonly cluster: boolean;
  /** Every master, to SCAN one by one: SCAN reads one node, and a Cluster's keys are spread over its masters. */
  masters(): Redis[];
  /**
   * A connection of its own to the node serving `key`'s slot, for a WATCH … EXEC that no other
   * command may slip into (WATCH belongs to a connection). The caller disconnects it.
   */
  dedicated(key: string): Redis;
}

/**
 * Connects and checks that Redis answers, waiting at most `timeoutMs` (the config's connectTimeout)
 * for a Redis that is down or starting; then throws UnreachableError naming `state.url` or
 * `state.cluster`. Once connected, the clients retry through a restart for as long as it takes.
 */
export async function connectRedis(target: RedisTarget, timeoutMs: number): Promise<RedisConnection> {
  const connection = 'cluster' in target ? clusterConnection(target.cluster, timeoutMs) : singleConnection(target.url, timeoutMs);
  const { client } = connection;
  const field = 'cluster' in target ? 'state.cluster' : 'state.url';
  const where = 'cluster' in target ? target.cluster.map(redactUrl).join(', ') : redactUrl(target.url);
  // Connection errors are retried by the retry strategies; the last one before a timeout says why. A refused
  // password is final, and says so at once (ioredis retries it and would report only "Connection is closed").
  let lastError: unknown;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.on('error', (error: unknown) => {
      lastError = error;
      if (isAuthFailure(error)) {
        clearTimeout(timer);
        resolve(false);
      }
    });
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
    client.connect().catch(() => {});
  });
  if (!ready) {
    client.disconnect();
    if (isAuthFailure(lastError)) {
      throw new StateError(`Redis at ${where} refused the credentials in ${field} (${authMessage(lastError).split('.')[0]})`, { cause: lastError });
    }
    throw new UnreachableError(connection.cluster ? 'Redis Cluster' : 'Redis', where, [field], timeoutMs, { cause: lastError });
  }
  try {
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new StateError(`Redis at ${where} does not answer PING`, { cause: error, retriable: true });
  }
  return connection;
}

function nodeOptions(timeoutMs: number) {
  return {
    connectTimeout: timeoutMs,
    // Closing a socket whose connection failed waits this long for a close event that never comes (ioredis
    // 6.0; at the default 2 s, a refused start exited 2 s after its message).
    disconnectTimeout: 200,
    // Keep retrying through a Redis restart; a save waits rather than fails.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => Math.min(2_000, 50 * 2 ** attempt),
  };
}

function singleConnection(url: string, timeoutMs: number): RedisConnection {
  const redis = new Redis(url, { lazyConnect: true, ...nodeOptions(timeoutMs) });
  return { client: redis, cluster: false, masters: () => [redis], dedicated: () => redis.duplicate({ lazyConnect: false }) };
}

/** Reconnections a save's own connection to a Cluster master tries (about 5 s of waiting) before the save fails. */
const DEDICATED_RECONNECTS = 6;

function clusterConnection(nodes: readonly string[], timeoutMs: number): RedisConnection {
  const { startupNodes, credentials } = parseClusterNodes(nodes);
  const redisOptions = { ...nodeOptions(timeoutMs), ...credentials };
  const cluster = new Cluster(startupNodes, {
    lazyConnect: true,
    redisOptions,
    clusterRetryStrategy: (attempt) => Math.min(2_000, 50 * 2 ** attempt),
    // A save's WATCH … EXEC goes to the master `slots` names, on a connection of its own whose MOVED answers
    // the Cluster never sees; ioredis 6.0 refreshes `slots` only on MOVED unless told to: after a reshard,
    // a partition's saves fail until this refresh (then its next snapshot writes it whole).
    slotsRefreshInterval: 5_000,
  });
  return {
    client: cluster,
    cluster: true,
    masters: () => cluster.nodes('master'),
    dedicated(key) {
      // slots[slot][0] is the master serving it, as the cluster last told us (MOVED answers update it).
      const nodeKey = cluster.slots[calculateSlot(key)]?.[0];
      if (nodeKey === undefined) throw new StateError(`no node of the Redis Cluster serves the slot of ${key}`, { retriable: true });
      const colon = nodeKey.lastIndexOf(':');
      return new Redis({
        ...redisOptions,
        host: nodeKey.slice(0, colon),
        port: Number(nodeKey.slice(colon + 1)),
        // Not the patient wait of one Redis: after a failover this address may never serve the slot again, and a
        // save waiting on it forever stopped every later snapshot (one runs at a time). It fails instead, and the
        // next snapshot asks `slots` afresh.
        maxRetriesPerRequest: 2,
        retryStrategy: (attempt: number) => (attempt > DEDICATED_RECONNECTS ? null : Math.min(2_000, 50 * 2 ** attempt)),
      });
    },
  };
}

/** What every node of a Cluster is connected with besides its address. */
interface ClusterCredentials {
  username?: string;
  password?: string;
  /** `rediss://`: TLS with Node's defaults. */
  tls?: Record<string, never>;
}

/**
 * "redis://[user:password@]host:port", "rediss://…" or "host:port" → ioredis startup nodes. A node
 * found later (most of them) is connected with the same options, so the credentials and TLS are
 * the cluster's, taken from the first node that names them.
 */
export function parseClusterNodes(nodes: readonly string[]): {
  startupNodes: Array<{ host: string; port: number }>;
  credentials: ClusterCredentials;
} {
  const credentials: ClusterCredentials = {};
  const startupNodes = nodes.map((node) => {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(node) ? node : `redis://${node}`);
    if (url.password !== '' && credentials.password === undefined) {
      credentials.password = decodeURIComponent(url.password);
      if (url.username !== '') credentials.username = decodeURIComponent(url.username);
    }
    if (url.protocol === 'rediss:') credentials.tls = {};
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 6379 : Number(url.port) };
  });
  return { startupNodes, credentials };
}

/** Redis's answers to a wrong or missing password (AUTH, or a command sent without one); a Cluster wraps its nodes' in lastNodeError. */
function isAuthFailure(error: unknown): boolean {
  return /^(WRONGPASS|NOAUTH)|invalid password|AUTH failed/i.test(authMessage(error));
}

function authMessage(error: unknown): string {
  if (!(error instanceof Error)) return '';
  const nodeError = (error as { lastNodeError?: unknown }).lastNodeError;
  return nodeError instanceof Error ? nodeError.message : error.message;
}
