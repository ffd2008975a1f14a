import type { z } from 'zod';
import { describeError, LoopError } from './errors.js';
import { importable } from './importable.js';
import type { ModelTool } from './model.js';
import type { ToolsetSpec } from './protocol.js';

/** What a tool's `run` receives besides its arguments. */
export interface ToolContext {
  /** Aborted when the task is cancelled or times out. */
  signal: AbortSignal;
  /** Writes a line to the task's output, visible to the host through `check` and `stream`. */
  emit(text: string): void;
  /**
   * Call this often from CPU-heavy work: it throws once the task is cancelled or timed out, flushes output,
   * and returns steering that arrived since the last checkpoint (it also reaches the model before its next
   * turn). Costs one `Atomics.load` when there is nothing to do.
   */
  checkpoint(): string[];
  taskId: string;
  sessionId: string;
}

/** One tool: a description for the model, a zod input schema, and the function that runs it. */
export interface ToolDefinition<Input = unknown> {
  description: string;
  input: z.ZodType<Input>;
  run(args: Input, ctx: ToolContext): unknown;
}

/** What a toolset module's default export must be (or what its factory returns). */
export interface Toolset {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: each tool has its own input type; `defineTool` keeps them sound.
  tools: Record<string, ToolDefinition<any>>;
}

/** Types a tool's `run` arguments from its schema. */
export function defineTool<Schema extends z.ZodType>(
  tool: ToolDefinition<z.infer<Schema>> & { input: Schema },
): ToolDefinition<z.infer<Schema>> {
  return tool;
}

/** Identity helper that checks a toolset's shape at compile time. */
export function defineToolset<T extends Toolset>(toolset: T): T {
  return toolset;
}

/** A tool ready for the loop, with its JSON Schema worked out once. */
export interface LoadedTool {
  definition: ToolDefinition;
  offer: ModelTool;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A toolset module's default export may also be a factory that takes the host's options. */
export type ToolsetFactory = (options: unknown) => Toolset | Promise<Toolset>;

/** Imports each toolset module and indexes its tools by name. Any problem is a `tool_error`. */
export async function loadToolsets(specs: Record<string, ToolsetSpec>): Promise<Map<string, LoadedTool>> {
  const tools = new Map<string, LoadedTool>();
  const entries = Object.entries(specs);
  // zod is loaded by the first task that has a toolset, not at thread start: a third of a fresh thread's start.
  if (entries.length > 0) toJSONSchema ??= (await import('zod')).z.toJSONSchema;
  for (const [name, { specifier, options }] of entries) {
    let toolset: unknown;
    try {
      toolset = ((await import(importable(specifier))) as { default?: unknown }).default;
      if (typeof toolset === 'function') toolset = await (toolset as ToolsetFactory)(options);
    } catch (error) {
      throw new LoopError(
        'tool_error',
        `cannot load toolset ${name} (${specifier}): ${describeError(error)}`,
      );
    }
    if (!toolset || typeof toolset !== 'object' || typeof (toolset as Toolset).tools !== 'object') {
      throw new LoopError(
        'tool_error',
        `toolset ${name} (${specifier}) has no default export { name, tools }`,
      );
    }
    for (const [toolName, definition] of Object.entries((toolset as Toolset).tools)) {
      if (!TOOL_NAME.test(toolName))
        throw new LoopError('tool_error', `toolset ${name}: bad tool name ${toolName}`);
      if (tools.has(toolName))
        throw new LoopError('tool_error', `tool ${toolName} is defined by two toolsets`);
      // Duck-typed: a toolset may bring its own copy of zod, so `instanceof` would reject a valid schema.
      if (typeof definition?.run !== 'function' || typeof definition.input?.safeParse !== 'function') {
        throw new LoopError('tool_error', `toolset ${name}: tool ${toolName} needs a zod input and run()`);
      }
      tools.set(toolName, { definition, offer: offerOf(toolName, definition) });
    }
  }
  return tools;
}

/**
 * JSON Schemas by zod schema, per thread. Toolset modules are imported once per thread, so their schemas are
 * the same objects task after task; converting them again for every task cost more than the rest of a
 * trivial task's dispatch.
 */
const schemas = new WeakMap<object, Record<string, unknown>>();
let toJSONSchema: typeof z.toJSONSchema | undefined;

function offerOf(name: string, definition: ToolDefinition): ModelTool {
  let parameters = schemas.get(definition.input);
  if (!parameters) {
    try {
      parameters = toJSONSchema!(definition.input, { unrepresentable: 'any' }) as Record<string, unknown>;
    } catch {
      parameters = { type: 'object' };
    }
    delete parameters.$schema;
    schemas.set(definition.input, parameters);
  }
  return { name, description: String(definition.description ?? ''), parameters };
}
