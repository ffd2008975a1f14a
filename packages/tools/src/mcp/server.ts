import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type DelegationToolDefinition,
  type DelegationToolsOptions,
  defineDelegationTools,
  NotFoundError,
  type Supervisor,
  type TaskStatusChange,
} from '@errand/core';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  ListToolsRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { handleToolCall } from '../handle-tool-call.js';
import { clip } from './message-gate.js';
import { McpStdioTransport, type McpStdioTransportOptions } from './stdio-transport.js';
import { ErrandTaskStore, resultOf, taskOf } from './task-store.js';

export { McpStdioTransport } from './stdio-transport.js';

/** Options for {@link createMcpServer}. */
export interface McpServerOptions {
  /** The errand session this connection works in. @default a fresh `mcp-<uuid>` per server */
  sessionId?: string;
  /** Passed to the tool definitions (`createDelegationTools`' options). */
  tools?: DelegationToolsOptions;
  /**
   * Told of every protocol problem: a line that is not JSON, a malformed or over-long request, bad params.
   * The client has already been answered with a JSON-RPC error where one is due.
   * @default writes one line per problem to stderr (`errand-mcp: …`)
   */
  onError?: (error: Error) => void;
  /**
   * How often a client should poll `tasks/get` for a task-augmented call (MCP Tasks), in milliseconds.
   * Status changes are also pushed as `notifications/tasks/status`, and `tasks/result` waits without polling.
   * @default 1000
   */
  taskPollIntervalMs?: number;
}

/** Options for {@link serveMcpStdio}. */
export interface ServeMcpStdioOptions extends McpServerOptions {
  /** Passed to the stdio transport (streams, longest request line). */
  transport?: McpStdioTransportOptions;
}

/** This package's version, the server's version in `initialize`. Read once, at run time. */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A zod schema as the JSON Schema (2020-12) MCP lists. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Tool['inputSchema'] {
  const json = z.toJSONSchema(schema, { io }) as Tool['inputSchema'];
  delete (json as Record<string, unknown>).$schema;
  return json;
}

/** The MCP listing of a tool: optional arguments optional, the reply's schema, what it does to the world. */
function listingOf(tool: DelegationToolDefinition): Tool {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: jsonSchemaOf(tool.advertisedSchema, 'input'),
    outputSchema: jsonSchemaOf(tool.outputSchema, 'output'),
    annotations: { ...tool.hints },
    // A task-capable client may run the delegation itself as an MCP task; without a `task` param the tool
    // answers at once as always. The other tools are quick (or, `collect_task`, a bounded wait) and stay calls.
    ...(tool.name === 'delegate_task_async' ? { execution: { taskSupport: 'optional' as const } } : {}),
  };
}

/** A tool's JSON reply as an MCP result: text for every client, `structuredContent` for a success. */
function resultOfReply(text: string): CallToolResult {
  // Error replies carry no structured content: it would have to match the output schema, and the SDK client
  // rejects a result whose structured content does not (it validates even when `isError` is set).
  if (text.startsWith('{"error":')) return { content: [{ type: 'text', text }], isError: true };
  return {
    content: [{ type: 'text', text }],
    structuredContent: JSON.parse(text) as Record<string, unknown>,
  };
}

/**
 * An MCP server exposing the six delegation tools. One server serves one connection, and each gets its own
 * errand session, so MCP clients never see each other's tasks. While `collect_task` waits, the server sends
 * `notifications/progress` when the client asked for them with a progress token.
 *
 * MCP Tasks (protocol 2025-11-25): `delegate_task_async` declares `taskSupport: 'optional'`. A client that calls
 * it with a `task` param gets a `CreateTaskResult` whose `taskId` is the errand task id; `tasks/get`,
 * `tasks/list` (every task of this connection's session), `tasks/cancel` and `tasks/result` (the
 * `collect_task` reply once the task ends) act on the same errand tasks, and each status change of such a task
 * is pushed as `notifications/tasks/status`.
 *
 * @example
 * const server = createMcpServer(supervisor);
 * await server.connect(new McpStdioTransport());
 */
export function createMcpServer(supervisor: Supervisor, options: McpServerOptions = {}): Server {
  const sessionId = options.sessionId ?? `mcp-${randomUUID()}`;
  const session = supervisor.session(sessionId);
  const tools = defineDelegationTools(session, { limits: supervisor.limits, ...options.tools });
  const delegate = tools.find((tool) => tool.name === 'delegate_task_async') as DelegationToolDefinition;
  const pollInterval = options.taskPollIntervalMs ?? 1000;
  const taskStore = new ErrandTaskStore(session, delegate, pollInterval);
  const server = new Server(
    { name: 'errand', version: VERSION },
    {
      capabilities: { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore,
    },
  );
  server.onerror =
    options.onError ?? ((error) => process.stderr.write(`errand-mcp: ${clip(error.message, 500)}\n`));

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools.map(listingOf) }));

  // Tasks created as MCP tasks have their status changes pushed to the client, up to the terminal one.
  const announced = taskStore.created;
  const onStatus = (change: TaskStatusChange) => {
    if (change.sessionId !== sessionId || !announced.has(change.taskId)) return;
    if (change.to !== 'queued' && change.to !== 'running') announced.delete(change.taskId);
    let task: ReturnType<typeof taskOf>;
    try {
      task = taskOf(session.check(change.taskId, { previewLines: 0 }), pollInterval);
    } catch {
      return; // Evicted already (retainFinished): nothing left to describe.
    }
    void server.notification({ method: 'notifications/tasks/status', params: task }).catch(() => {});
  };
  supervisor.on('task-status', onStatus);
  const onclose = () => supervisor.off('task-status', onStatus);

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.task) {
      if (request.params.name !== 'delegate_task_async' || !extra.taskStore) {
        throw new McpError(
          ErrorCode.MethodNotFound,
          `${clip(request.params.name, 64)} cannot run as a task; only delegate_task_async can`,
        );
      }
      const task = await extra.taskStore.createTask(
        request.params.task.ttl === undefined ? {} : { ttl: request.params.task.ttl },
      );
      return { task };
    }
    const progressToken = request.params._meta?.progressToken;
    const text = await handleToolCall(tools, request.params.name, request.params.arguments ?? {}, {
      signal: extra.signal,
      ...(progressToken === undefined
        ? {}
        : {
            onProgress: (progress) => {
              void extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: {
                    progressToken,
                    progress: progress.elapsedSeconds,
                    total: progress.totalSeconds,
                    message: progress.message,
                  },
                })
                .catch(() => {});
            },
          }),
    });
    return resultOfReply(text);
  });

  // Replaces the SDK's `tasks/result`, which polls its task store on a timer: this one waits on the task
  // itself and answers the moment it ends (or when the client cancels the request).
  server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const { taskId } = request.params;
    try {
      for (;;) {
        const snapshot = await session.collect(taskId, { timeoutMs: 2 ** 31 - 1, signal: extra.signal });
        if (!snapshot.timedOut) {
          return { ...resultOf(snapshot), _meta: { [RELATED_TASK_META_KEY]: { taskId } } };
        }
      }
    } catch (error) {
      if (NotFoundError.isInstance(error))
        throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
      throw error;
    }
  });

  const previous = server.onclose;
  server.onclose = () => {
    onclose();
    previous?.();
  };
  return server;
}

/**
 * Serves MCP over this process's stdin/stdout until the client closes stdin, then closes the supervisor.
 * Logs go to stderr: stdout belongs to the protocol. Bad lines are answered with JSON-RPC errors and the
 * connection stays up (see {@link McpStdioTransport}); if stdin or stdout fails, it rejects with that error.
 */
export async function serveMcpStdio(
  supervisor: Supervisor,
  options: ServeMcpStdioOptions = {},
): Promise<void> {
  const server = createMcpServer(supervisor, options);
  const transport = new McpStdioTransport(options.transport);
  const closed = new Promise<void>((resolve) => {
    const stop = server.onclose;
    server.onclose = () => {
      stop?.();
      resolve();
    };
  });
  await server.connect(transport);
  await closed;
  await supervisor.close();
  if (transport.failure) throw new Error(`stdio failed: ${transport.failure.message}`);
}
