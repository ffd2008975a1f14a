import { randomUUID } from 'node:crypto';
import type { Supervisor } from '@errand/core';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createDelegationTools, type DelegationToolsOptions } from './delegation-tools.js';
import { handleToolCall } from './handle-tool-call.js';

/** Options for {@link createMcpServer}. */
export interface McpServerOptions {
  /** The errand session this connection works in. @default a fresh `mcp-<uuid>` per server */
  sessionId?: string;
  /** Passed to `createDelegationTools`. */
  tools?: DelegationToolsOptions;
}

/**
 * An MCP server exposing the six delegation tools. One server serves one connection, and each gets its own
 * errand session, so MCP clients never see each other's tasks. While `collect_task` waits, the server sends
 * `notifications/progress` when the client asked for them with a progress token.
 *
 * @example
 * const server = createMcpServer(supervisor);
 * await server.connect(new StdioServerTransport());
 */
export function createMcpServer(supervisor: Supervisor, options: McpServerOptions = {}): Server {
  const sessionId = options.sessionId ?? `mcp-${randomUUID()}`;
  const tools = createDelegationTools(supervisor.session(sessionId), options.tools);
  const server = new Server({ name: 'errand', version: '0.1.0' }, { capabilities: { tools: {} } });

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
 * Serves MCP over this process's stdin/stdout until the client disconnects, then closes the supervisor.
 * Logs go to stderr: stdout belongs to the protocol.
 */
export async function serveMcpStdio(supervisor: Supervisor, options: McpServerOptions = {}): Promise<void> {
  const server = createMcpServer(supervisor, options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await supervisor.close();
}
