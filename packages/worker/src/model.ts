import type { Usage } from './protocol.js';

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
