import { createRequire } from 'node:module';
import type { Schema } from 'ai';
import type { DelegationTool } from '../delegation-tools.js';

/** One tool in the shape the Vercel AI SDK's `ToolSet` takes. */
export interface AISDKTool {
  description: string;
  /** Our JSON Schema (`tool.parameters`) wrapped by the AI SDK's `jsonSchema()`, with our validator. */
  inputSchema: Schema<Record<string, unknown>>;
  execute: (input: unknown, options: { abortSignal?: AbortSignal }) => Promise<unknown>;
}

type JsonSchemaHelper = typeof import('ai')['jsonSchema'];

/**
 * The AI SDK's own `jsonSchema` helper, loaded when first needed: `ai` is an optional peer, so importing
 * `@errand/tools` must not require it. The helper only tags a plain object with `Symbol.for('vercel.ai.schema')`,
 * so the copy loaded here is understood by whichever copy of `ai` the host imports.
 */
function aiJsonSchema(): JsonSchemaHelper {
  try {
    return (createRequire(import.meta.url)('ai') as typeof import('ai')).jsonSchema;
  } catch (error) {
    throw new Error(
      'toAISDKTools needs the `ai` package (Vercel AI SDK 5 or 6); install it beside @errand/tools',
      {
        cause: error,
      },
    );
  }
}

/**
 * The tools as a Vercel AI SDK `ToolSet` (ai 5 and 6), for `generateText` / `streamText`. Each tool returns the
 * parsed JSON reply, so errors reach the model as `{ error: { code, message } }` rather than as exceptions.
 *
 * The model is offered our JSON Schema as it is (with every argument's description), not a zod object: the AI
 * SDK converts zod with whichever zod it resolved, and ai 5 with a zod 3 peer drops a zod 4 schema's
 * descriptions.
 *
 * @example
 * const { text } = await generateText({ model, tools: toAISDKTools(tools), prompt, stopWhen: stepCountIs(5) });
 */
export function toAISDKTools(tools: readonly DelegationTool[]): Record<string, AISDKTool> {
  const jsonSchema = aiJsonSchema();
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      {
        description: tool.description,
        inputSchema: jsonSchema<Record<string, unknown>>(tool.parameters as Parameters<JsonSchemaHelper>[0], {
          // Arguments that fail our schema still pass here, on purpose: `execute` then answers with the same
          // short `invalid_input` reply every host gets. Failing here would make the SDK send the model its
          // own TypeValidationError, which echoes the whole input (megabytes, for a runaway model).
          validate: (value) => {
            const parsed = tool.inputSchema.safeParse(value);
            return {
              success: true,
              value: (parsed.success ? parsed.data : value) as Record<string, unknown>,
            };
          },
        }),
        execute: async (input: unknown, options: { abortSignal?: AbortSignal } = {}) =>
          JSON.parse(await tool.execute(input, options.abortSignal ? { signal: options.abortSignal } : {})),
      },
    ]),
  );
}
