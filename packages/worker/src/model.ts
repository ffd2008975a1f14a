import { pathToFileURL } from 'node:url';
import { describeError, LoopError } from './errors.js';
import type { HostBridge } from './host-bridge.js';
import { createScriptedModel } from './models/scripted.js';
import type { ModelSpec, Usage } from './protocol.js';

/** A tool call as the model asked for it. `arguments` may be an object or a JSON string. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

/** One message of the agent's conversation. */
export interface ModelMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

/** A tool as offered to the model: JSON Schema parameters, derived from the tool's zod input. */
export interface ModelTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** What the agent loop hands the model on every turn. */
export interface ModelRequest {
  messages: readonly ModelMessage[];
  tools: readonly ModelTool[];
  /** Aborted when the task is cancelled or times out; pass it to every request. */
  signal: AbortSignal;
  /**
   * Streams text as the model writes it, so the host sees it through `check` before the turn ends. A model
   * that calls this need not repeat the text in its response's `text` for output purposes: the loop does not
   * write streamed text twice.
   */
  onTextDelta?: (delta: string) => void;
}

/** One model turn. No tool calls means the agent is done and `text` is its answer. */
export interface ModelResponse {
  text?: string;
  toolCalls?: ToolCall[];
  usage?: Usage;
}

/** The interface every model provider implements. */
export interface Model {
  complete(request: ModelRequest): Promise<ModelResponse>;
}

/** The default export a `module` model provider must have. */
export type CreateModel = (options: unknown) => Model | Promise<Model>;

/** Turns a specifier from the host (path, file URL or package name) into something `import()` accepts. */
export function importable(specifier: string): string {
  if (specifier.startsWith('/')) return pathToFileURL(specifier).href;
  return specifier;
}

/** Builds the task's model from its spec. Load failures are `model_error`. */
export async function loadModel(spec: ModelSpec, bridge?: HostBridge): Promise<Model> {
  if (spec.provider === 'scripted') return createScriptedModel(spec);
  if (spec.provider === 'openai-compatible') {
    // Loaded on demand: the SDK costs tens of milliseconds to load, and most tasks of a pool may not need it.
    const { createOpenAICompatibleModel } = await import('./models/openai-compatible.js');
    return createOpenAICompatibleModel(spec);
  }
  if (spec.provider === 'host') {
    if (!bridge) throw new LoopError('model_error', `host model "${spec.name}" needs the host bridge`);
    return bridge.model(spec.name);
  }
  let loaded: { default?: unknown };
  try {
    loaded = (await import(importable(spec.specifier))) as { default?: unknown };
  } catch (error) {
    throw new LoopError('model_error', `cannot load model module ${spec.specifier}: ${describeError(error)}`);
  }
  if (typeof loaded.default !== 'function') {
    throw new LoopError('model_error', `model module ${spec.specifier} has no default export createModel()`);
  }
  const model = await (loaded.default as CreateModel)(spec.options);
  if (!model || typeof model.complete !== 'function') {
    throw new LoopError('model_error', `createModel() in ${spec.specifier} did not return { complete() }`);
  }
  return model;
}
