/**
 * The `openai-compatible` provider: any server that speaks OpenAI Chat Completions (OpenAI, OpenRouter,
 * Ollama, vLLM, llama.cpp), through the official `openai` SDK, streaming.
 *
 * The API key is read here, inside the worker, from the environment variable the spec names: it never
 * travels in a payload and is redacted from everything that leaves the worker.
 */
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { describeError, LoopError } from '../errors.js';
import type { Model, ModelMessage, ModelRequest, ModelResponse, ToolCall } from '../model.js';
import type { OpenAICompatibleModelSpec } from '../protocol.js';
import { redact } from '../redact.js';

// `openai` is an optional peer dependency of @errand/worker: only this provider needs it, and this module is itself
// imported on demand (load-model.ts), so a host that never uses the provider never installs or loads the SDK.
const { default: OpenAI } = await import('openai').catch((error: unknown) => {
  if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  throw new LoopError(
    'model_error',
    'the openai-compatible model provider needs the openai package, which is not installed: npm install openai',
  );
});

export function createOpenAICompatibleModel(spec: OpenAICompatibleModelSpec): Model {
  const apiKey = spec.apiKeyEnv ? process.env[spec.apiKeyEnv] : undefined;
  if (spec.apiKeyEnv && !apiKey) {
    throw new LoopError(
      'model_error',
      `the environment variable ${spec.apiKeyEnv} (apiKeyEnv) is not set in the worker`,
    );
  }
  const client = new OpenAI({
    baseURL: spec.baseURL,
    // Local servers (Ollama, llama.cpp) take no key, but the SDK insists on a value.
    apiKey: apiKey ?? 'not-needed',
    maxRetries: spec.maxRetries ?? 2,
    timeout: spec.requestTimeoutMs ?? 120_000,
    ...(spec.headers ? { defaultHeaders: spec.headers } : {}),
  });
  return {
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const params: ChatCompletionCreateParamsStreaming = {
        model: spec.model,
        messages: request.messages.map(toOpenAIMessage),
        stream: true,
        stream_options: { include_usage: true },
        ...(request.tools.length
          ? {
              tools: request.tools.map((tool) => ({
                type: 'function' as const,
                function: { name: tool.name, description: tool.description, parameters: tool.parameters },
              })),
            }
          : {}),
        ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
        ...(spec.maxTokens === undefined ? {} : { max_tokens: spec.maxTokens }),
      };
      try {
        const stream = await client.chat.completions.create(params, { signal: request.signal });
        return await collect(stream, request);
      } catch (error) {
        if (request.signal.aborted) throw error;
        throw new LoopError('model_error', `model request failed: ${redact(describeError(error))}`);
      }
    },
  };
}

/** Assembles a streamed completion: text deltas go out as they come, tool-call fragments are joined by index. */
async function collect(
  stream: AsyncIterable<ChatCompletionChunk>,
  request: ModelRequest,
): Promise<ModelResponse> {
  let text = '';
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let usage: ModelResponse['usage'];
  for await (const chunk of stream) {
    if (chunk.usage)
      usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
    const delta = chunk.choices[0]?.delta;
    if (!delta) continue;
    if (delta.content) {
      text += delta.content;
      request.onTextDelta?.(delta.content);
    }
    for (const fragment of delta.tool_calls ?? []) {
      const call = calls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
      if (fragment.id) call.id = fragment.id;
      if (fragment.function?.name) call.name += fragment.function.name;
      if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
      calls.set(fragment.index, call);
    }
  }
  const response: ModelResponse = { text };
  if (usage) response.usage = usage;
  if (calls.size > 0) {
    // Arguments stay a string: the agent loop parses them, and feeds malformed JSON back to the model as a
    // tool error instead of failing the task.
    response.toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(
        ([index, call]): ToolCall => ({
          id: call.id || `call_${index}`,
          name: call.name,
          arguments: call.arguments,
        }),
      );
  }
  return response;
}

function toOpenAIMessage(message: ModelMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'tool':
      return { role: 'tool', content: message.content, tool_call_id: message.toolCallId ?? '' };
    case 'assistant':
      return message.toolCalls?.length
        ? {
            role: 'assistant',
            content: message.content || null,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: {
                name: call.name,
                arguments:
                  typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
              },
            })),
          }
        : { role: 'assistant', content: message.content };
  }
}
