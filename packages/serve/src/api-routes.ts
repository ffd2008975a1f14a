import {
  type DelegationToolDefinition,
  type DelegationToolName,
  defineDelegationTools,
  replyForError,
  type Supervisor,
  type TaskSnapshot,
} from '@errand/core';
import type { HttpBindings } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import type { EventHub } from './event-hub.js';
import type { HostStats } from './host-stats.js';
import { errorBody, statusForCode } from './http-errors.js';
import { type ClosableStream, SSE_HEADERS, type SseStats } from './sse.js';
import { taskStream } from './task-stream.js';

/** What a request carries once it is authenticated. */
export interface ApiVariables {
  /** The session the request acts in. */
  sessionId: string;
  /** Every session its token may act in (the anonymous one alone when the API is open). */
  sessions: readonly string[];
}

/** The Hono environment of the API: node-server's bindings (absent under `app.request`) and the variables. */
export type ApiEnv = { Bindings: Partial<HttpBindings>; Variables: ApiVariables };

/** What the routes need from the app. */
export interface ApiParts {
  supervisor: Supervisor;
  hub: EventHub;
  host: HostStats;
  stats: SseStats;
  /** Open task streams, so a shutting-down server can end them. */
  streams: Set<ClosableStream>;
  heartbeatMs: number;
  maxCollectSeconds: number;
  /** True when no tokens are configured. */
  open: boolean;
}

type Tools = Record<DelegationToolName, DelegationToolDefinition>;

/** Most sessions whose tool definitions are kept: sessions come from the config, so this is never reached in practice. */
const MAX_CACHED_SESSIONS = 1_000;

/**
 * The `/v1` routes: each is one of the six delegation tools (the same zod validation, snake_case replies and
 * `{error: {code, message}}` bodies), called with the path's task id and the body or query as arguments, and
 * answered with the HTTP status that fits the reply's error code; plus the two event streams.
 */
export function registerApiRoutes(app: Hono<ApiEnv>, parts: ApiParts): void {
  const cache = new Map<string, Tools>();
  const toolsFor = (sessionId: string): Tools => {
    let tools = cache.get(sessionId);
    if (!tools) {
      if (cache.size >= MAX_CACHED_SESSIONS) cache.clear();
      const definitions = defineDelegationTools(parts.supervisor.session(sessionId), {
        limits: parts.supervisor.limits,
        maxCollectSeconds: parts.maxCollectSeconds,
      });
      tools = Object.fromEntries(definitions.map((tool) => [tool.name, tool])) as Tools;
      cache.set(sessionId, tools);
    }
    return tools;
  };
  const tool = (c: Context<ApiEnv>, name: DelegationToolName) => toolsFor(c.var.sessionId)[name];

  app.post('/v1/tasks', async (c) => {
    const args = await bodyArgs(c);
    if (args instanceof Response) return args;
    const reply = await call(tool(c, 'delegate_task_async'), args);
    if (!reply.ok) return reply.response;
    const id = (reply.value as { task_id: string }).task_id;
    return answer(c, reply, 201, { location: `/v1/tasks/${encodeURIComponent(id)}` });
  });

  app.get('/v1/tasks', async (c) => {
    const status = c.req.query('status');
    return answer(c, await call(tool(c, 'list_tasks'), status === undefined ? {} : { status }));
  });

  app.get('/v1/tasks/:id', async (c) => {
    const preview = c.req.query('preview_lines');
    const args = {
      task_id: c.req.param('id'),
      ...(preview === undefined ? {} : { preview_lines: numberParam(preview) }),
    };
    const called = await call(tool(c, 'check_task'), args);
    if (!called.ok) return called.response;
    // Beside the check_task shape, the times the dashboard shows (ISO 8601; absent until they happen). A task
    // evicted in between is answered without them.
    let snapshot: TaskSnapshot;
    try {
      snapshot = parts.supervisor.session(c.var.sessionId).check(args.task_id, { previewLines: 0 });
    } catch {
      return answer(c, called);
    }
    const timings = {
      created_at: new Date(snapshot.createdAt).toISOString(),
      ...(snapshot.startedAt === undefined ? {} : { started_at: new Date(snapshot.startedAt).toISOString() }),
      ...(snapshot.endedAt === undefined ? {} : { ended_at: new Date(snapshot.endedAt).toISOString() }),
    };
    return c.json({ ...(called.value as object), timings });
  });

  for (const [action, name] of [
    ['collect', 'collect_task'],
    ['steer', 'steer_task'],
    ['cancel', 'cancel_task'],
  ] as const) {
    app.post(`/v1/tasks/:id/${action}`, async (c) => {
      const args = await bodyArgs(c);
      if (args instanceof Response) return args;
      // A collect whose client hung up stops waiting (and leaves the task alone).
      const options = name === 'collect_task' ? { signal: c.req.raw.signal } : {};
      return answer(c, await call(tool(c, name), { ...args, task_id: c.req.param('id') }, options));
    });
  }

  app.get('/v1/tasks/:id/stream', (c) => {
    const taskId = c.req.param('id');
    const session = parts.supervisor.session(c.var.sessionId);
    try {
      session.check(taskId, { previewLines: 0 });
    } catch (error) {
      return errorResponse(c, replyForError(error));
    }
    const given = c.req.header('last-event-id') ?? c.req.query('last_event_id');
    let after: number | undefined;
    if (given !== undefined && given.trim() !== '') {
      after = Number(given);
      if (!Number.isInteger(after) || after < -1) {
        return c.json(
          errorBody(
            'invalid_input',
            `Last-Event-ID must be a line index (an integer ≥ -1), got ${JSON.stringify(given.slice(0, 64))}`,
          ),
          400,
        );
      }
    }
    const { stream, handle } = taskStream(session, taskId, {
      after,
      heartbeatMs: parts.heartbeatMs,
      stats: parts.stats,
      onClose: (closed) => parts.streams.delete(closed),
    });
    parts.streams.add(handle);
    return c.body(stream, 200, { ...SSE_HEADERS });
  });

  app.get('/v1/events', (c) => {
    const outgoing = c.env?.outgoing;
    const channel = parts.hub.subscribe(c.var.sessionId, outgoing ? () => outgoing.destroy() : undefined);
    return c.body(channel.stream, 200, { ...SSE_HEADERS });
  });

  app.get('/v1/session', (c) =>
    c.json({ session: c.var.sessionId, sessions: c.var.sessions, auth: parts.open ? 'none' : 'token' }),
  );

  app.get('/v1/host', (c) => c.json(parts.host.report()));
}

type Called = { ok: true; value: unknown; text: string } | { ok: false; response: Response };

/** Runs a tool; its JSON reply becomes the value, or an error response with the status its code fits. */
async function call(
  definition: DelegationToolDefinition,
  args: Record<string, unknown>,
  options: { signal?: AbortSignal } = {},
): Promise<Called> {
  const text = await definition.execute(args, options);
  const value = JSON.parse(text) as { error?: { code: string } };
  if (isErrorReply(value)) {
    return {
      ok: false,
      response: new Response(text, {
        status: statusForCode(value.error.code),
        headers: { 'content-type': 'application/json' },
      }),
    };
  }
  return { ok: true, value, text };
}

/** The tool's reply as it is (its JSON text is the body: no second stringify), or its error response. */
/**
 * True for the tools' error replies: `{ error }`, or `{ error, task_id, status }` for `task_finished`. A task's
 * own failure is data in a successful reply (`check_task` of a cancelled task carries `error` beside `goal`,
 * `collect_task` beside `timed_out`), so the keys tell the two apart, not the presence of `error`.
 */
function isErrorReply(value: { error?: { code: string } }): value is { error: { code: string } } {
  return value.error !== undefined && Object.keys(value).every((key) => ERROR_REPLY_KEYS.has(key));
}

const ERROR_REPLY_KEYS = new Set(['error', 'task_id', 'status']);

function answer(
  c: Context<ApiEnv>,
  called: Called,
  status: 200 | 201 = 200,
  headers: Record<string, string> = {},
): Response {
  return called.ok
    ? c.body(called.text, status, { 'content-type': 'application/json', ...headers })
    : called.response;
}

function errorResponse(c: Context<ApiEnv>, text: string): Response {
  const code = (JSON.parse(text) as { error: { code: string } }).error.code;
  return c.body(text, statusForCode(code), { 'content-type': 'application/json' });
}

/**
 * The JSON object in the body (an empty body is `{}`), or a 400 response saying what came instead. Oversized
 * bodies never get here: the body limit answers 413 first.
 */
async function bodyArgs(c: Context<ApiEnv>): Promise<Record<string, unknown> | Response> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return c.json(errorBody('invalid_input', 'the request body is not valid JSON'), 400);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    return c.json(errorBody('invalid_input', `the request body must be a JSON object, got ${kind}`), 400);
  }
  return value as Record<string, unknown>;
}

/**
 * A query parameter that should be a number: a numeric string becomes the number, anything else stays a
 * string, so the tool's schema says what was expected and echoes what came (`got "ten" (string)`).
 */
function numberParam(value: string): unknown {
  return /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(value.trim()) ? Number(value) : value;
}
