import { UnavailableError } from '@errand/core/seams';
import { Redis, type RedisOptions } from 'ioredis';

/** ioredis options from a `redis://` or `rediss://` URL (user, password, db and TLS included). */
export function redisOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port || 6379),
    // Commands wait through a reconnect (a dropped connection, `CLIENT KILL`) instead of failing: nothing is
    // lost, and BullMQ's workers need it.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectTimeout: 3_000,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, '');
  if (db) options.db = Number(db);
  if (parsed.protocol === 'rediss:') options.tls = { servername: options.host as string };
  return options;
}

/**
 * A client that never throws an unhandled `error` event: connection errors are remembered (for the
 * unavailable message) and ioredis reconnects on its own.
 */
export function openClient(
  url: string,
  name: string,
  options: { autoPipelining?: boolean } = {},
): { client: Redis; lastError: () => string } {
  const client = new Redis({
    ...redisOptions(url),
    connectionName: name,
    // Commands issued in one tick go out in one write: a burst of delegations, or a worker reporting many
    // runs, costs a few syscalls instead of one per command. Never on a connection that blocks.
    enableAutoPipelining: options.autoPipelining ?? false,
  });
  let last = 'no answer';
  client.on('error', (error: Error) => {
    last = error.message;
  });
  return { client, lastError: () => last };
}

/**
 * Resolves once `client` is ready; rejects with an `UnavailableError` naming `endpoint` after `timeoutMs`
 * (the client is then disconnected).
 */
export function whenReady(
  opened: { client: Redis; lastError: () => string },
  endpoint: string,
  timeoutMs: number,
): Promise<void> {
  const { client } = opened;
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      client.disconnect();
      reject(
        new UnavailableError(endpoint, `Redis did not answer within ${timeoutMs} ms (${opened.lastError()})`),
      );
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** Ends a client now; pending commands are dropped. Never throws. */
export async function closeClient(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}
