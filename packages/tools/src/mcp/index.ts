/**
 * `@errand/tools/mcp`: the MCP server for the six delegation tools. It needs `@modelcontextprotocol/sdk` (an
 * optional peer of `@errand/tools`); `@errand/tools` itself never loads it, so a host that only wants
 * `toOpenAITools` need not install it. Importing this subpath without the SDK fails with an error that says so.
 */
import type * as Implementation from './server.js';

export type { McpServerOptions, ServeMcpStdioOptions } from './server.js';
export type { McpStdioTransportOptions } from './stdio-transport.js';

/** Loads the server, turning a missing SDK into an error that names the package to install. */
async function load(): Promise<typeof Implementation> {
  try {
    return await import('./server.js');
  } catch (error) {
    const missing =
      (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes('@modelcontextprotocol/sdk');
    if (!missing) throw error;
    throw new Error(
      '@errand/tools/mcp needs the MCP SDK: install `@modelcontextprotocol/sdk` (1.x) beside @errand/tools',
      { cause: error },
    );
  }
}

const implementation = await load();

/** See {@link Implementation.createMcpServer}. */
export const createMcpServer: typeof Implementation.createMcpServer = implementation.createMcpServer;
/** See {@link Implementation.serveMcpStdio}. */
export const serveMcpStdio: typeof Implementation.serveMcpStdio = implementation.serveMcpStdio;
/** See {@link Implementation.McpStdioTransport}. */
export const McpStdioTransport: typeof Implementation.McpStdioTransport = implementation.McpStdioTransport;
export type McpStdioTransport = Implementation.McpStdioTransport;
