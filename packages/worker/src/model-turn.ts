import { abortable } from './abortable.js';
import type { CancelToken } from './cancel-token.js';
import { describeError, LoopError } from './errors.js';
import type { Model, ModelMessage, ModelRequest, ModelResponse, ModelTool, ToolCall } from './model.js';
import type { OutputStream } from './output-stream.js';
import type { Usage } from './protocol.js';

/** What one model turn gave the loop, normalised. */
export interface ModelTurn {
  text: string;
  calls: ToolCall[];
  usage?: Usage;
}

/**
 * One model call: streams its text deltas to the output (and closes the line), and turns every way a model
 * can go wrong into a `model_error` — a rejection, a synchronous throw, a value that is not a promise, a
 * promise of something that is not an object. A stop request wins over all of them.
 */
export async function runModelTurn(
  model: Model,
  messages: readonly ModelMessage[],
  tools: readonly ModelTool[],
  token: CancelToken,
  output: OutputStream,
): Promise<ModelTurn> {
  let streamed = false;
  const request: ModelRequest = {
    messages,
    tools,
    signal: token.signal,
    onTextDelta: (delta) => {
      if (token.signal.aborted || typeof delta !== 'string' || delta.length === 0) return;
      streamed = true;
      output.push({ kind: 'text', text: delta });
    },
  };
  let response: ModelResponse;
  try {
    response = await abortable(callModel(model, request), token.signal);
  } catch (error) {
    if (token.requested()) throw token.error();
    if (error instanceof LoopError) throw error;
    throw new LoopError('model_error', `model failed: ${describeError(error)}`, { cause: error });
  }
  if (response === null || typeof response !== 'object') {
    throw new LoopError(
      'model_error',
      `model.complete() must resolve to { text?, toolCalls? }; got ${describeValue(response)}`,
    );
  }
  const text = typeof response.text === 'string' ? response.text : '';
  if (streamed) output.push({ kind: 'text', text: '\n' });
  else if (text) output.push({ kind: 'text', text: `${text}\n` });
  const turn: ModelTurn = { text, calls: normaliseCalls(response) };
  if (response.usage) turn.usage = response.usage;
  return turn;
}

/** Calls `complete`, holding it to its contract: it must return a promise (a thenable) and not throw. */
function callModel(model: Model, request: ModelRequest): Promise<ModelResponse> {
  let returned: unknown;
  try {
    returned = model.complete(request);
  } catch (error) {
    throw new LoopError('model_error', `model failed: model.complete() threw: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (typeof (returned as PromiseLike<unknown> | undefined)?.then !== 'function') {
    throw new LoopError(
      'model_error',
      `model.complete() must return a promise of { text?, toolCalls? }; got ${describeValue(returned)}`,
    );
  }
  return Promise.resolve(returned as PromiseLike<ModelResponse>);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function normaliseCalls(response: ModelResponse): ToolCall[] {
  if (!Array.isArray(response.toolCalls)) return [];
  return response.toolCalls.map((call, index) => ({
    id: typeof call?.id === 'string' && call.id ? call.id : `call_${index}`,
    name: typeof call?.name === 'string' ? call.name : '',
    arguments: call?.arguments ?? {},
  }));
}
