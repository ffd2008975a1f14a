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

/** Connection errors that will not go away by waiting: `whenReady` gives up at once on them. */
const HOPELESS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Resolves once `client` is ready; rejects with an `UnavailableError` naming `endpoint` at the first refused
 * connection or unknown host, or after `timeoutMs` (a server that accepts but never answers, a wrong password).
 * The client is then disconnected.
 */
export function whenReady(
  opened: { client: Redis; lastError: () => string },
  endpoint: string,
  timeoutMs: number,
): Promise<void> {
  const { client } = opened;
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const settle = (error: Error | undefined) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
      if (!error) return resolve();
      client.disconnect();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        settle(
          new UnavailableError(
            endpoint,
            `Redis did not answer within ${timeoutMs} ms (${opened.lastError()})`,
          ),
        ),
      timeoutMs,
    );
    const onReady = () => settle(undefined);
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code && HOPELESS.has(error.code))
        settle(new UnavailableError(endpoint, `Redis is unreachable (${error.code})`));
    };
    // Disconnected meanwhile (another connection of the same start failed first): give up too.
    const onEnd = () =>
      settle(new UnavailableError(endpoint, `the connection was closed (${opened.lastError()})`));
    client.once('ready', onReady);
    client.on('error', onError);
    client.once('end', onEnd);
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
