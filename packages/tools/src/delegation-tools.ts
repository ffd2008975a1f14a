import {
  type DelegationToolName,
  type DelegationToolsOptions,
  defineDelegationTools,
  type ExecuteOptions,
  type Session,
} from '@errand/core';
import type { z } from 'zod';
import { toParameters } from './schemas.js';

/** One LLM tool. `execute` takes the model's arguments as they came and never throws. */
export interface DelegationTool {
  name: DelegationToolName;
  description: string;
  /** The zod schema the arguments are validated with (optional arguments admit `null`). */
  inputSchema: z.ZodObject;
  /** JSON Schema of the arguments (OpenAI strict and Anthropic compatible). */
  parameters: Record<string, unknown>;
  /** Runs the tool; resolves to a JSON string, an `{"error": {code, message}}` one on any failure. */
  execute(input: unknown, options?: ExecuteOptions): Promise<string>;
}

/**
 * The six delegation tools for one session: what an LLM uses to hand work to background sub-agents. The same
 * tools (names, arguments, replies) an orchestrator agent gets, defined once in `@errand/core`.
 *
 * @example
 * const tools = createDelegationTools(supervisor.session('chat-1'), { limits: supervisor.limits });
 * const reply = await handleToolCall(tools, call.function.name, call.function.arguments);
 */
export function createDelegationTools(
  session: Session,
  options: DelegationToolsOptions = {},
): DelegationTool[] {
  return defineDelegationTools(session, options).map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
    parameters: toParameters(tool.inputSchema),
    execute: tool.execute,
  }));
}
