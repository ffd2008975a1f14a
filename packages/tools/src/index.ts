export type { AISDKTool } from './adapters/ai-sdk.js';
export { toAISDKTools } from './adapters/ai-sdk.js';
export type { AnthropicTool } from './adapters/anthropic.js';
export { toAnthropicTools } from './adapters/anthropic.js';
export type { OpenAIFunctionTool } from './adapters/openai.js';
export { toOpenAITools } from './adapters/openai.js';
export type {
  DelegationTool,
  DelegationToolName,
  DelegationToolsOptions,
  ExecuteOptions,
} from './delegation-tools.js';
export { createDelegationTools, TOOL_NAMES } from './delegation-tools.js';
export { handleToolCall, MAX_ARGUMENT_CHARS } from './handle-tool-call.js';
export type { McpServerOptions, ServeMcpStdioOptions } from './mcp-server.js';
export { createMcpServer, serveMcpStdio } from './mcp-server.js';
export type { McpStdioTransportOptions } from './mcp-stdio-transport.js';
export { McpStdioTransport } from './mcp-stdio-transport.js';
