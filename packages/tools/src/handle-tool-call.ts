import { type ExecuteOptions, errorReply, unknownToolReply } from '@errand/core';
import type { DelegationTool } from './delegation-tools.js';

/**
 * Longest raw JSON argument string parsed. The engine bounds each field (goal 20,000 and context 100,000
 * characters by default), but only after parsing; this keeps a runaway model from making the host parse
 * megabytes on its main thread first.
 */
export const MAX_ARGUMENT_CHARS = 2_000_000;

/**
 * One entry point for hosts: finds the tool, parses JSON arguments, runs it. Never throws; an unknown tool
 * or arguments that are not JSON get an `invalid_input` error reply.
 *
 * @example
 * for (const call of message.tool_calls) {
 *   messages.push({ role: 'tool', tool_call_id: call.id, content: await handleToolCall(tools, call.function.name, call.function.arguments) });
 * }
 */
export async function handleToolCall(
  tools: readonly Pick<DelegationTool, 'name' | 'execute'>[],
  name: string,
  rawArguments: unknown,
  options?: ExecuteOptions,
): Promise<string> {
  const tool = tools.find((candidate) => candidate.name === name);
  if (!tool) return unknownToolReply(String(name), tools);
  let input: unknown = rawArguments;
  if (typeof rawArguments === 'string') {
    if (rawArguments.length > MAX_ARGUMENT_CHARS) {
      return errorReply(
        'invalid_input',
        `arguments are ${rawArguments.length} characters of JSON; the limit is ${MAX_ARGUMENT_CHARS}`,
      );
    }
    try {
      input = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
    } catch (error) {
      return errorReply('invalid_input', `arguments are not valid JSON: ${(error as Error).message}`);
    }
  }
  return tool.execute(input, options);
}
