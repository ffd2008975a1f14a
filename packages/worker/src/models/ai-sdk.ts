/**
 * The `ai-sdk` provider: any AI SDK provider package (`@ai-sdk/anthropic`, `@ai-sdk/google`, `@ai-sdk/openai`,
 * community ones), imported inside the worker and called through the AI SDK's `streamText`, streamed.
 *
 * The AI SDK only talks to the model: our tools are offered as definitions without `execute`, so every tool
 * call comes back to the agent loop, which runs it between its own checkpoints (steering, cancel, output,
 * checkpoints stay errand's). One `streamText` call is one model turn (`stopWhen` is left at one step).
 *
 * The key is read here, inside the worker, from the environment variable `apiKeyEnv` names, registered as a
 * secret before anything can echo it, and handed to the provider's factory as `apiKey`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelMessage as AiMessage, LanguageModel, TextStreamPart, ToolSet } from 'ai';
import { describeError, LoopError } from '../errors.js';
import { importable } from '../importable.js';
import type { Model, ModelMessage, ModelRequest, ModelResponse, ModelTool, ToolCall } from '../model.js';
import type { AiSdkModelSpec } from '../protocol.js';
import { redact, registerSecretEnv } from '../redact.js';

// `ai` is an optional peer dependency of @errand/worker: only this provider needs it, and this module is itself
// imported on demand (load-model.ts), so a host that never uses the provider never installs or loads it.
const ai = await import('ai').catch((error: unknown) => {
  if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  throw new LoopError(
    'model_error',
    'the ai-sdk model provider needs the ai package (the Vercel AI SDK, v6), which is not installed: npm install ai',
  );
});

/** A provider as AI SDK packages export it: `createX(settings)` returns a function of the model id. */
type ProviderFactory = (settings: Record<string, unknown>) => unknown;

export async function createAiSdkModel(spec: AiSdkModelSpec): Promise<Model> {
  if (spec.apiKeyEnv) registerSecretEnv(spec.apiKeyEnv);
  const apiKey = spec.apiKeyEnv ? process.env[spec.apiKeyEnv] : undefined;
  if (spec.apiKeyEnv && !apiKey) {
    throw new LoopError(
      'model_error',
      `the environment variable ${spec.apiKeyEnv} (apiKeyEnv) is not set in the worker`,
    );
  }
  const factory = await loadFactory(spec);
  let languageModel: LanguageModel;
  try {
    const provider = factory({ ...spec.options, ...(apiKey === undefined ? {} : { apiKey }) });
    languageModel = modelOf(provider, spec.model) as LanguageModel;
  } catch (error) {
    if (error instanceof LoopError) throw error;
    throw new LoopError(
      'model_error',
      `${spec.factory}() from ${spec.module} failed: ${redact(describeError(error))}`,
    );
  }
  return {
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const result = ai.streamText({
        model: languageModel,
        ...toAiPrompt(request.messages),
        tools: toAiTools(request.tools),
        abortSignal: request.signal,
        maxRetries: spec.maxRetries ?? 2,
        ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
        ...(spec.maxOutputTokens === undefined ? {} : { maxOutputTokens: spec.maxOutputTokens }),
        // Errors arrive as `error` parts of the stream, handled below; the default handler would log them.
        onError: () => {},
      });
      try {
        return await collect(result.fullStream, request);
      } catch (error) {
        if (request.signal.aborted) throw error;
        throw new LoopError('model_error', `model request failed: ${redact(describeError(error))}`);
      }
    },
  };
}

/** Imports the provider package (resolved from the host's folder first) and picks the factory export. */
async function loadFactory(spec: AiSdkModelSpec): Promise<ProviderFactory> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(resolveFromCwd(spec.module))) as Record<string, unknown>;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
    throw new LoopError(
      'model_error',
      missing
        ? `the ai-sdk model provider cannot find ${spec.module}: install it (npm install ${spec.module})`
        : `cannot load ${spec.module}: ${redact(describeError(error))}`,
    );
  }
  const factory = loaded[spec.factory];
  if (typeof factory !== 'function') {
    const exported = Object.keys(loaded)
      .filter((name) => typeof loaded[name] === 'function' && /^create/.test(name))
      .join(', ');
    throw new LoopError(
      'model_error',
      `${spec.module} has no function export ${spec.factory} (factory); its create… exports: ${exported || 'none'}`,
    );
  }
  return factory as ProviderFactory;
}

/**
 * A package name resolved from `process.cwd()`, where the host installed its packages (errand's own install may
 * not see them, as with pnpm); anything else, or a name found nowhere there, is imported as it is.
 */
function resolveFromCwd(module: string): string {
  if (module.startsWith('file:') || module.startsWith('/')) return importable(module);
  try {
    return pathToFileURL(createRequire(join(process.cwd(), 'noop.js')).resolve(module)).href;
  } catch {
    return module;
  }
}

/** The language model a provider gives for `id`: `provider(id)`, or `provider.languageModel(id)`. */
function modelOf(provider: unknown, id: string): unknown {
  const languageModel = (provider as { languageModel?: unknown } | null)?.languageModel;
  if (typeof languageModel === 'function') return languageModel.call(provider, id);
  if (typeof provider === 'function') return provider(id);
  throw new LoopError(
    'model_error',
    `the factory did not return an AI SDK provider (a function of the model id, or an object with languageModel())`,
  );
}

/** Reads one streamed turn: text deltas go out as they come; tool calls and usage are collected. */
async function collect(
  stream: AsyncIterable<TextStreamPart<ToolSet>>,
  request: ModelRequest,
): Promise<ModelResponse> {
  let text = '';
  const calls: ToolCall[] = [];
  let usage: ModelResponse['usage'];
  for await (const part of stream) {
    switch (part.type) {
      case 'text-delta':
        if (!part.text) break;
        text += part.text;
        request.onTextDelta?.(part.text);
        break;
      case 'tool-call':
        // An invalid call (unknown tool, input that is not JSON) still goes to the loop, which answers the model
        // with what was wrong, as it does for every provider.
        calls.push({ id: part.toolCallId, name: part.toolName, arguments: part.input ?? {} });
        break;
      case 'finish':
        usage = {
          inputTokens: part.totalUsage.inputTokens ?? 0,
          outputTokens: part.totalUsage.outputTokens ?? 0,
        };
        break;
      case 'error':
        throw part.error;
      case 'abort':
        request.signal.throwIfAborted();
        throw new Error('the model stream was aborted');
      default:
        break;
    }
  }
  const response: ModelResponse = { text };
  if (usage) response.usage = usage;
  if (calls.length > 0) response.toolCalls = calls;
  return response;
}

/** Our tools as AI SDK tool definitions, without `execute`: the AI SDK hands calls back instead of running them. */
function toAiTools(tools: readonly ModelTool[]): ToolSet {
  const set: ToolSet = {};
  for (const tool of tools) {
    set[tool.name] = {
      description: tool.description,
      inputSchema: ai.jsonSchema(tool.parameters as Parameters<typeof ai.jsonSchema>[0]),
    };
  }
  return set;
}

/**
 * The leading system message (errand's own instructions) as `system`, the rest as `messages`. System messages
 * further on are errand's too (a resumed conversation), so they are allowed there.
 */
function toAiPrompt(messages: readonly ModelMessage[]) {
  const [first, ...rest] = messages;
  if (first?.role !== 'system') return { messages: toAiMessages(messages), allowSystemInMessages: true };
  return { system: first.content, messages: toAiMessages(rest), allowSystemInMessages: true };
}

/** Errand's conversation as AI SDK `ModelMessage`s; tool results get their tool's name from the call. */
export function toAiMessages(messages: readonly ModelMessage[]): AiMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((message) => toAiMessage(message, toolNames));
}

/** One message; `toolNames` (call id → tool name) is filled from assistant turns for the tool results after them. */
function toAiMessage(message: ModelMessage, toolNames: Map<string, string>): AiMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'tool': {
      const toolCallId = message.toolCallId ?? '';
      return {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId,
            toolName: toolNames.get(toolCallId) ?? '',
            output: { type: 'text', value: message.content },
          },
        ],
      };
    }
    case 'assistant': {
      if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
      for (const call of message.toolCalls) toolNames.set(call.id, call.name);
      return {
        role: 'assistant',
        content: [
          ...(message.content ? [{ type: 'text' as const, text: message.content }] : []),
          ...message.toolCalls.map((call) => ({
            type: 'tool-call' as const,
            toolCallId: call.id,
            toolName: call.name,
            input: parsedInput(call.arguments),
          })),
        ],
      };
    }
  }
}

/** Arguments as the model sent them: parsed when they are a JSON string, else as they are. */
function parsedInput(input: unknown): unknown {
  if (typeof input !== 'string') return input ?? {};
  try {
    return input.trim() === '' ? {} : JSON.parse(input);
  } catch {
    return input;
  }
}
