import type { CancelToken } from './cancel-token.js';
import { describeError, isToolError, LoopError, StopRequested, toWireError } from './errors.js';
import type { Inbox } from './inbox.js';
import type { Model, ModelMessage, ModelResponse, ToolCall } from './model.js';
import type { OutputStream } from './output-stream.js';
import type { TaskOutcome, Usage } from './protocol.js';
import { redact } from './redact.js';
import type { LoadedTool, ToolContext } from './toolset.js';

/** Longest tool-call arguments (as JSON) a tool will be run with; longer ones go back to the model. */
export const MAX_TOOL_ARGUMENT_CHARS = 100_000;

/** Prefix that marks steering in the conversation, so the model can tell it from the original goal. */
export const STEERING_PREFIX = '[Guidance from the parent agent]';

export interface AgentLoopOptions {
  taskId: string;
  sessionId: string;
  goal: string;
  context?: string;
  model: Model;
  tools: Map<string, LoadedTool>;
  maxIterations: number;
  maxToolResultChars: number;
  token: CancelToken;
  inbox: Inbox;
  output: OutputStream;
}

/**
 * One agent: model → tool calls → model … until the model answers without tool calls, `maxIterations` model
 * turns have run, or the parent stops it. Never throws: every ending is a {@link TaskOutcome}.
 */
export async function runAgentLoop(options: AgentLoopOptions): Promise<TaskOutcome> {
  const { model, tools, token, output } = options;
  const messages: ModelMessage[] = [
    { role: 'system', content: systemPrompt(options) },
    { role: 'user', content: options.goal },
  ];
  const offers = [...tools.values()].map((tool) => tool.offer);
  const state = {
    iterations: 0,
    lastText: undefined as string | undefined,
    usage: undefined as Usage | undefined,
  };
  /** Steering received (and acknowledged) but not yet in the conversation; joins it at the next safe point. */
  const received: string[] = [];

  /**
   * `boundary` is true before a model call: output is flushed there so the host sees everything up to the step
   * that may now block for a long time. Before a tool call the flush comes with the tool's own `tool_call` line
   * (see `runTool`), one message rather than two. Inside a tool, output is only flushed when due, to keep tight
   * loops cheap.
   */
  const checkpoint = (boundary = false): string[] => {
    token.throwIfRequested();
    const fresh = options.inbox.drain();
    for (const steering of fresh) {
      output.push({ kind: 'steer_ack', seq: steering.seq, text: steering.text });
      received.push(steering.text);
    }
    // Acks go out at once: the host waits on them to tell queued steering from delivered.
    if (boundary || fresh.length > 0) output.flush();
    else output.tick();
    return fresh.map((steering) => steering.text);
  };
  const injectSteering = () => {
    for (const text of received.splice(0))
      messages.push({ role: 'user', content: `${STEERING_PREFIX} ${text}` });
  };
  const outcome = (fields: Omit<TaskOutcome, 'iterations' | 'usage'>): TaskOutcome => {
    const ended: TaskOutcome = { ...fields, iterations: state.iterations };
    if (state.usage) ended.usage = state.usage;
    return ended;
  };
  const partial = () => (state.lastText === undefined ? {} : { result: state.lastText });

  try {
    while (state.iterations < options.maxIterations) {
      checkpoint(true);
      injectSteering();
      let streamed = false;
      const response = await abortable(
        model.complete({
          messages,
          tools: offers,
          signal: token.signal,
          onTextDelta: (delta) => {
            if (token.signal.aborted || typeof delta !== 'string' || delta.length === 0) return;
            streamed = true;
            output.push({ kind: 'text', text: delta });
          },
        }),
        token.signal,
      ).catch((error: unknown) => {
        if (token.requested()) throw token.error();
        if (error instanceof LoopError) throw error;
        throw new LoopError('model_error', `model failed: ${describeError(error)}`, { cause: error });
      });
      state.iterations += 1;
      const text = typeof response?.text === 'string' ? response.text : '';
      const calls = normaliseCalls(response);
      if (text) state.lastText = text;
      if (response?.usage) state.usage = addUsage(state.usage, response.usage);
      if (streamed) output.push({ kind: 'text', text: '\n' });
      else if (text) output.push({ kind: 'text', text: `${text}\n` });
      // Sent with the next flush: the tool call below, or the checkpoint before the next model call.
      output.progress({
        iterations: state.iterations,
        ...(state.lastText === undefined ? {} : { lastText: state.lastText }),
        ...usageField(state.usage),
      });
      messages.push(
        calls.length > 0
          ? { role: 'assistant', content: text, toolCalls: calls }
          : { role: 'assistant', content: text },
      );
      if (calls.length === 0) return outcome({ status: 'completed', result: text, exitReason: 'completed' });

      for (const call of calls) {
        checkpoint();
        const content = await runTool(call, options, () => checkpoint());
        messages.push({ role: 'tool', content, toolCallId: call.id });
      }
    }
    return outcome({
      status: 'failed',
      ...partial(),
      exitReason: 'max_iterations',
      error: {
        code: 'max_iterations',
        name: 'MaxIterationsError',
        message: `stopped after maxIterations (${options.maxIterations}) model turns without a final answer`,
      },
    });
  } catch (error) {
    if (error instanceof StopRequested || token.requested()) {
      const stop = error instanceof StopRequested ? error : token.error();
      const timedOut = stop.code === 'timeout';
      return outcome({
        status: timedOut ? 'timed_out' : 'cancelled',
        ...partial(),
        exitReason: timedOut ? 'timeout' : 'cancelled',
        error: toWireError(stop.code, stop),
      });
    }
    const code = error instanceof LoopError ? error.code : 'error';
    return outcome({
      status: 'failed',
      ...partial(),
      exitReason: 'error',
      error: code === 'error' ? toWireError('tool_error', error) : toWireError(code, error),
    });
  }
}

function systemPrompt({ goal, context, tools }: AgentLoopOptions): string {
  const lines = [
    'You are a background sub-agent working for a parent agent that delegated one goal to you.',
    'Work on the goal with the tools you have, then answer with your final result and no tool calls.',
    `Messages that start with "${STEERING_PREFIX}" come from the parent while you work: follow them.`,
    '',
    `Goal: ${goal}`,
  ];
  if (context) lines.push('', `Context from the parent:\n${context}`);
  if (tools.size === 0) lines.push('', 'You have no tools for this goal.');
  return lines.join('\n');
}

/** Runs one tool call. Bad calls become messages to the model; a throwing tool ends the task. */
async function runTool(
  call: ToolCall,
  options: AgentLoopOptions,
  checkpoint: () => string[],
): Promise<string> {
  const { output, token } = options;
  const argsText = typeof call.arguments === 'string' ? call.arguments : safeJson(call.arguments);
  output.push({ kind: 'tool_call', text: `${call.name} ${argsText}` });
  // The host should see which tool is running even if that tool never yields.
  output.flush();
  const reject = (message: string) => {
    output.push({ kind: 'tool_result', text: `${call.name} error: ${message}` });
    return JSON.stringify({ error: message });
  };
  if (argsText.length > MAX_TOOL_ARGUMENT_CHARS) {
    return reject(`arguments are ${argsText.length} characters; the limit is ${MAX_TOOL_ARGUMENT_CHARS}`);
  }
  const tool = options.tools.get(call.name);
  if (!tool) {
    const known = [...options.tools.keys()].join(', ') || 'none';
    return reject(`unknown tool "${call.name}"; available tools: ${known}`);
  }
  let args: unknown = call.arguments;
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch (error) {
      return reject(`arguments are not valid JSON (${describeError(error)})`);
    }
  }
  const parsed = tool.definition.input.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    return reject(`invalid arguments: ${issues.join('; ')}`);
  }
  const ctx: ToolContext = {
    signal: token.signal,
    emit: (text) => output.push({ kind: 'log', text: String(text) }),
    checkpoint,
    taskId: options.taskId,
    sessionId: options.sessionId,
  };
  let value: unknown;
  try {
    value = await abortable(Promise.resolve(tool.definition.run(parsed.data, ctx)), token.signal);
  } catch (error) {
    if (error instanceof StopRequested || token.requested()) throw token.error();
    if (isToolError(error)) return reject(error.message);
    throw new LoopError('tool_error', `tool ${call.name} failed: ${describeError(error)}`, { cause: error });
  }
  const full = typeof value === 'string' ? value : safeJson(value);
  const content = cut(full, options.maxToolResultChars);
  // The output copy is redacted before the cut: a key cut in half would escape redaction.
  output.push({
    kind: 'tool_result',
    text: `${call.name}: ${cut(redact(full), options.maxToolResultChars)}`,
  });
  return content;
}

function normaliseCalls(response: ModelResponse | undefined): ToolCall[] {
  if (!Array.isArray(response?.toolCalls)) return [];
  return response.toolCalls.map((call, index) => ({
    id: typeof call?.id === 'string' && call.id ? call.id : `call_${index}`,
    name: typeof call?.name === 'string' ? call.name : '',
    arguments: call?.arguments ?? {},
  }));
}

function addUsage(total: Usage | undefined, more: Usage): Usage {
  const inputTokens = Number.isFinite(more.inputTokens) ? more.inputTokens : 0;
  const outputTokens = Number.isFinite(more.outputTokens) ? more.outputTokens : 0;
  return {
    inputTokens: (total?.inputTokens ?? 0) + inputTokens,
    outputTokens: (total?.outputTokens ?? 0) + outputTokens,
  };
}

function usageField(usage: Usage | undefined): { usage?: Usage } {
  return usage ? { usage } : {};
}

/** JSON for any value, falling back to `String()` for what JSON cannot hold (BigInt, cycles). */
export function safeJson(value: unknown): string {
  if (value === undefined) return 'null';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [cut: ${text.length - max} more characters]`;
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts, so a model or tool that
 * ignores its signal cannot keep a cancelled task alive.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
