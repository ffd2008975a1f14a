import type { DelegationTool } from '../delegation-tools.js';

/** A Chat Completions function tool, as the OpenAI API takes it. */
export interface OpenAIFunctionTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown>; strict: boolean };
}

/**
 * The tools as an OpenAI Chat Completions `tools` list, with strict schemas.
 *
 * @example
 * const completion = await openai.chat.completions.create({ model, messages, tools: toOpenAITools(tools) });
 */
export function toOpenAITools(tools: readonly DelegationTool[]): OpenAIFunctionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters, strict: true },
  }));
}
