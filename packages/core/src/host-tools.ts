import type { ModelMessage, ModelResponse, ModelTool } from '@errand/worker';
import { z } from 'zod';

/** What a host tool's `run` receives besides its arguments. */
export interface HostToolContext {
  /** Aborted when the task ends (whatever the reason) or its worker is gone. */
  signal: AbortSignal;
  taskId: string;
  sessionId: string;
}

/**
 * A tool that runs on the host's main thread (it holds host state or credentials); agents call it like any
 * other tool when their goal allows the `host` toolset.
 */
export interface HostTool<Input = unknown> {
  description: string;
  input: z.ZodType<Input>;
  run(args: Input, ctx: HostToolContext): unknown;
}

/** A model turn run on the host, for `{ provider: 'host', name }`: the credentials stay on the main thread. */
export type HostModel = (request: {
  messages: ModelMessage[];
  tools: ModelTool[];
  signal: AbortSignal;
  taskId: string;
  sessionId: string;
}) => Promise<ModelResponse>;

/** Types a host tool's `run` arguments from its schema. */
export function defineHostTool<Schema extends z.ZodType>(
  tool: HostTool<z.infer<Schema>> & { input: Schema },
): HostTool<z.infer<Schema>> {
  return tool;
}

/** The model's view of a tool: JSON Schema from its zod input. */
export function offerOf(name: string, description: string, input: z.ZodType): ModelTool {
  const parameters = z.toJSONSchema(input, { unrepresentable: 'any' }) as Record<string, unknown>;
  delete parameters.$schema;
  return { name, description, parameters };
}

/** Runs a host tool call: validated arguments, JSON text back. A bad call throws, and the model is told. */
export async function runHostTool(tool: HostTool, args: unknown, ctx: HostToolContext): Promise<string> {
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    throw new Error(
      `invalid arguments: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
    );
  }
  const value = await tool.run(parsed.data, ctx);
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}
