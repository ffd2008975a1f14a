import type { z } from 'zod';
import type { DelegationTool } from '../delegation-tools.js';

/** One tool in the shape the Vercel AI SDK's `ToolSet` takes (`inputSchema` may be a zod schema). */
export interface AISDKTool {
  description: string;
  inputSchema: z.ZodObject;
  execute: (input: unknown, options: { abortSignal?: AbortSignal }) => Promise<unknown>;
}

/**
 * The tools as a Vercel AI SDK `ToolSet` (ai 5 and 6), for `generateText` / `streamText`. Each tool returns the
 * parsed JSON reply, so errors reach the model as `{ error: { code, message } }` rather than as exceptions.
 *
 * @example
 * const { text } = await generateText({ model, tools: toAISDKTools(tools), prompt, stopWhen: stepCountIs(5) });
 */
export function toAISDKTools(tools: readonly DelegationTool[]): Record<string, AISDKTool> {
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      {
        description: tool.description,
        inputSchema: tool.inputSchema,
        execute: async (input: unknown, options: { abortSignal?: AbortSignal } = {}) =>
          JSON.parse(await tool.execute(input, options.abortSignal ? { signal: options.abortSignal } : {})),
      },
    ]),
  );
}
