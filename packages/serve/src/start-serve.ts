import type { AddressInfo } from 'node:net';
import { InvalidInputError, type Supervisor } from '@errand/core';
import { type ServerType, serve } from '@hono/node-server';
import { createServeApp, type ServeApp, type ServeAppOptions } from './app.js';

/** Options of {@link startServe}. */
export interface StartServeOptions extends ServeAppOptions {
  /** TCP port; 0 picks a free one (see `ServeHandle.port`). @default 8787 */
  port?: number;
  /**
   * Address to listen on. Anything but a loopback address needs at least one token: an open API reachable
   * from the network is refused at start.
   * @default '127.0.0.1'
   */
  host?: string;
}

/** A running server. */
export interface ServeHandle {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly app: ServeApp;
  /**
   * Graceful shutdown: stops accepting connections, answers API requests still arriving on open connections
   * 503 `shutting_down`, closes the supervisor within `graceMs` (its tasks end `cancelled`, so task streams
   * end with their `end` event), ends the remaining streams with `event: shutdown`, and resolves once every
   * connection is closed (idle ones at once; any left after `graceMs` more are cut). Safe to call twice.
   */
  close(options?: {
    /** Passed to `supervisor.close`. @default 5_000 */
    graceMs?: number;
    /** Close the supervisor too. @default true */
    closeSupervisor?: boolean;
  }): Promise<void>;
}

/** True for `localhost`, `127.0.0.0/8` and `::1` (IPv4-mapped included). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Serves the API and the dashboard over one supervisor with `@hono/node-server`.
 *
 * @example
 * const supervisor = new Supervisor({ model: { provider: 'scripted', turns: [{ text: 'done' }] } });
 * const server = await startServe(supervisor, { port: 8787, tokens: [{ tokenEnv: 'ERRAND_TOKEN', session: 'ops' }] });
 * process.once('SIGTERM', () => server.close());
 */
export async function startServe(
  supervisor: Supervisor,
  options: StartServeOptions = {},
): Promise<ServeHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidInputError('port', port, `must be an integer from 0 to 65535, got ${String(port)}`);
  const app = createServeApp(supervisor, options);
  if (app.open && !isLoopback(host)) {
    app.close();
    throw new InvalidInputError(
      'host',
      host,
      'is not a loopback address and no tokens are configured',
      `host ${JSON.stringify(host)} is not a loopback address and no tokens are configured: refusing to serve an open API to the network; add serve.tokens to the config, or use --host 127.0.0.1`,
    );
  }
  const server: ServerType = await new Promise((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port, hostname: host }, () => {
      started.off('error', reject);
      resolve(started);
    });
    started.once('error', (error) => {
      app.close();
      reject(error);
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${shown}:${bound}`,
    host,
    port: bound,
    app,
    close(closeOptions = {}) {
      closing ??= (async () => {
        const graceMs = closeOptions.graceMs ?? 5_000;
        app.beginShutdown();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        if (closeOptions.closeSupervisor ?? true) await supervisor.close({ graceMs });
        app.close();
        // Connections that were busy (streams, a waiting collect) go idle as their responses end; keep-alive
        // would hold them, and the server's close, open. Anything still open after graceMs is cut.
        const idle = setInterval(() => {
          if ('closeIdleConnections' in server) server.closeIdleConnections();
        }, 25);
        const cut = setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, graceMs);
        idle.unref();
        cut.unref();
        await closed;
        clearInterval(idle);
        clearTimeout(cut);
      })();
      return closing;
    },
  };
}
