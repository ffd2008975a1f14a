import { randomUUID } from 'node:crypto';
import type { Supervisor } from '@errand/core';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createDelegationTools, type DelegationToolsOptions } from './delegation-tools.js';
import { handleToolCall } from './handle-tool-call.js';
import { clip } from './mcp-message-gate.js';
import { McpStdioTransport, type McpStdioTransportOptions } from './mcp-stdio-transport.js';

/** Options for {@link createMcpServer}. */
export interface McpServerOptions {
  /** The errand session this connection works in. @default a fresh `mcp-<uuid>` per server */
  sessionId?: string;
  /** Passed to `createDelegationTools`. */
  tools?: DelegationToolsOptions;
  /**
   * Told of every protocol problem: a line that is not JSON, a malformed or over-long request, bad params.
   * The client has already been answered with a JSON-RPC error where one is due.
   * @default writes one line per problem to stderr (`errand-mcp: …`)
   */
  onError?: (error: Error) => void;
}

/** Options for {@link serveMcpStdio}. */
export interface ServeMcpStdioOptions extends McpServerOptions {
  /** Passed to the stdio transport (streams, longest request line). */
  transport?: McpStdioTransportOptions;
}

/**
 * An MCP server exposing the six delegation tools. One server serves one connection, and each gets its own
 * errand session, so MCP clients never see each other's tasks. While `collect_task` waits, the server sends
 * `notifications/progress` when the client asked for them with a progress token.
 *
 * @example
 * const server = createMcpServer(supervisor);
 * await server.connect(new McpStdioTransport());
 */
export function createMcpServer(supervisor: Supervisor, options: McpServerOptions = {}): Server {
  const sessionId = options.sessionId ?? `mcp-${randomUUID()}`;
  const tools = createDelegationTools(supervisor.session(sessionId), {
    limits: supervisor.limits,
    ...options.tools,
  });
  const server = new Server({ name: 'errand', version: '0.1.0' }, { capabilities: { tools: {} } });
  server.onerror =
    options.onError ?? ((error) => process.stderr.write(`errand-mcp: ${clip(error.message, 500)}\n`));

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: tool.parameters as { type: 'object'; [key: string]: unknown },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
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
    return { content: [{ type: 'text', text }], isError: text.startsWith('{"error":') };
  });
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
    server.onclose = () => resolve();
  });
  await server.connect(transport);
  await closed;
  await supervisor.close();
  if (transport.failure) throw new Error(`stdio failed: ${transport.failure.message}`);
}
