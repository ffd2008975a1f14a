import { readFileSync } from 'node:fs';
import type { Supervisor } from '@errand/core';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { type ApiEnv, registerApiRoutes } from './api-routes.js';
import { bearerToken, type Credential, credentialsFrom, matchToken } from './auth.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { EventHub } from './event-hub.js';
import { HostStats } from './host-stats.js';
import { errorBody } from './http-errors.js';
import { openApiDocument } from './openapi.js';
import type { ServeConfig, ServeTokenEntry } from './serve-options.js';
import { type ClosableStream, SseStats, sseFrame } from './sse.js';

/** Options of {@link createServeApp}: the config file's `serve` key, and what only code sets. */
export interface ServeAppOptions extends ServeConfig {
  /**
   * Bearer tokens, each bound to its session(s). Without any, every request acts in `anonymousSession` (and
   * `startServe` refuses a non-loopback host).
   * @default []
   */
  tokens?: ServeTokenEntry[];
  /** The session requests act in when no tokens are configured. @default 'default' */
  anonymousSession?: string;
  /** Threads of the supervisor's pool (`pool.maxThreads`), for the pool use the dashboard shows. @default 8 */
  capacity?: number;
  /**
   * Most bytes queued for one `/v1/events` client that is not reading; past it the client is dropped rather
   * than buffered without end. Task streams hold no queue (they pull lines as the client reads).
   * @default 1_048_576
   */
  maxBufferedBytes?: number;
  /** A comment frame on every idle stream this often, so proxies keep it open. @default 15_000 */
  heartbeatMs?: number;
  /** Longest `collect` wait, whatever the request asks. @default 600 */
  maxCollectSeconds?: number;
  /** Where `tokenEnv` is looked up. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A serve app: a fetch handler for any server, and the controls its server needs. */
export interface ServeApp {
  /** The Hono app (mount it in another one, or add middleware). */
  readonly hono: Hono<ApiEnv>;
  /** The request handler: `serve({ fetch: app.fetch })` or any Fetch-API server. */
  readonly fetch: Hono<ApiEnv>['fetch'];
  /** True when no tokens are configured: every request acts in the anonymous session. */
  readonly open: boolean;
  /** Stream counters: clients now, bytes held for slow clients, clients dropped. */
  readonly stats: Readonly<SseStats>;
  /** From now on every API request is answered 503 `shutting_down`. */
  beginShutdown(): void;
  /** Ends every open stream with `event: shutdown`. */
  finishStreams(): void;
  /** Ends the streams and stops listening to the supervisor (the supervisor itself is left open). */
  close(): void;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The HTTP API and the dashboard over one supervisor, as a Hono app (no socket: see `startServe`).
 *
 * @example
 * const app = createServeApp(supervisor, { tokens: [{ tokenEnv: 'ERRAND_TOKEN', session: 'ops' }] });
 * serve({ fetch: app.fetch, port: 8787, hostname: '127.0.0.1' });
 */
export function createServeApp(supervisor: Supervisor, options: ServeAppOptions = {}): ServeApp {
  const credentials: Credential[] = credentialsFrom(options.tokens ?? [], options.env);
  const open = credentials.length === 0;
  const anonymous = options.anonymousSession ?? 'default';
  supervisor.session(anonymous); // validates the name
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const stats = new SseStats();
  const hub = new EventHub(supervisor, {
    maxBufferedBytes: options.maxBufferedBytes ?? 1_048_576,
    heartbeatMs,
    stats,
  });
  const host = new HostStats(supervisor, options.capacity ?? 8, stats);
  const streams = new Set<ClosableStream>();
  let shuttingDown = false;

  const app = new Hono<ApiEnv>();
  app.onError((error, c) => c.json(errorBody('internal', `unexpected failure: ${error.message}`), 500));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));

  if (options.cors) {
    app.use(
      '/v1/*',
      cors({
        origin: options.cors.origins,
        allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Errand-Session'],
        exposeHeaders: ['Location'],
        maxAge: 600,
      }),
    );
  }

  app.use('/v1/*', async (c, next) => {
    if (shuttingDown) return c.json(errorBody('shutting_down', 'the server is shutting down'), 503);
    let sessions: readonly string[] = [anonymous];
    if (!open) {
      const token = bearerToken(c.req.header('authorization'));
      const credential = token === undefined ? undefined : matchToken(credentials, token);
      if (!credential) {
        const message =
          token === undefined
            ? 'a bearer token is required: send Authorization: Bearer <token>'
            : 'the bearer token is not valid';
        return c.json(errorBody('unauthorized', message), 401, { 'www-authenticate': 'Bearer' });
      }
      sessions = credential.sessions;
    }
    const asked = c.req.header('x-errand-session');
    if (asked !== undefined && !sessions.includes(asked)) {
      return c.json(
        errorBody('not_found', `no session ${JSON.stringify(asked.slice(0, 80))} for this token`),
        404,
      );
    }
    c.set('sessions', sessions);
    c.set('sessionId', asked ?? (sessions[0] as string));
    return next();
  });

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        c.json(
          errorBody(
            'payload_too_large',
            `the request body is larger than ${maxBodyBytes} bytes, the most this server takes`,
          ),
          413,
        ),
    }),
  );

  registerApiRoutes(app, {
    supervisor,
    hub,
    host,
    stats,
    streams,
    heartbeatMs,
    maxCollectSeconds: options.maxCollectSeconds ?? 600,
    open,
  });

  const limits = supervisor.limits;
  const document = JSON.stringify(
    openApiDocument(
      {
        maxIterations: limits.maxIterations,
        maxTimeoutSeconds: Math.floor(limits.maxTimeoutMs / 1000),
        maxPreviewLines: limits.outputLines,
        maxCollectSeconds: options.maxCollectSeconds ?? 600,
      },
      VERSION,
    ),
  );
  app.get('/openapi.json', (c) => c.body(document, 200, { 'content-type': 'application/json' }));
  registerDashboardRoutes(app, { open });

  const shutdownFrame = sseFrame('shutdown', { reason: 'the server is shutting down' });
  const finishStreams = () => {
    hub.finishAll(shutdownFrame);
    for (const stream of [...streams]) stream.finish(shutdownFrame);
  };
  return {
    hono: app,
    fetch: app.fetch,
    open,
    stats,
    beginShutdown() {
      shuttingDown = true;
    },
    finishStreams,
    close() {
      shuttingDown = true;
      for (const stream of [...streams]) stream.finish(shutdownFrame);
      hub.close(shutdownFrame);
      host.close();
    },
  };
}
