import type { CancelToken } from './cancel-token.js';
import { resumeMessages, takeCheckpoint } from './checkpoint.js';
import { LoopError, StopRequested, toWireError } from './errors.js';
import type { Inbox } from './inbox.js';
import type { Model, ModelMessage } from './model.js';
import { runModelTurn } from './model-turn.js';
import type { OutputStream } from './output-stream.js';
import type { ConversationCheckpoint, SpanRecord, TaskOutcome, Usage } from './protocol.js';
import { spanClock, timed } from './step-timing.js';
import { runTool } from './tool-step.js';
import type { LoadedTool } from './toolset.js';

export { MAX_TOOL_ARGUMENT_CHARS, safeJson } from './tool-step.js';

/** Longest tool name or call id a span record carries (both come from the model). */
const MAX_TOOL_NAME_CHARS = 200;

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
  /** Longest checkpoint in JSON characters. */
  maxCheckpointChars: number;
  /** Go on from this conversation (a resumed task): its iterations count towards `maxIterations`. */
  resume?: ConversationCheckpoint;
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
  const messages: ModelMessage[] = options.resume
    ? resumeMessages(options.resume)
    : [
        { role: 'system', content: systemPrompt(options) },
        { role: 'user', content: options.goal },
      ];
  const offers = [...tools.values()].map((tool) => tool.offer);
  const state = {
    iterations: options.resume?.iterations ?? 0,
    lastText: undefined as string | undefined,
    usage: undefined as Usage | undefined,
  };
  /** Steering received (and acknowledged) but not yet in the conversation; joins it at the next safe point. */
  const received: Array<{ seq: number; text: string }> = [];
  /** The highest steering `seq` in the conversation, for checkpoints (a moved run gets the later ones again). */
  let steerSeq = 0;

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
      received.push(steering);
    }
    // Acks go out at once: the host waits on them to tell queued steering from delivered.
    if (boundary || fresh.length > 0) output.flush();
    else output.tick();
    return fresh.map((steering) => steering.text);
  };
  const injectSteering = () => {
    for (const { seq, text } of received.splice(0)) {
      messages.push({ role: 'user', content: `${STEERING_PREFIX} ${text}` });
      steerSeq = Math.max(steerSeq, seq);
    }
  };
  const outcome = (fields: Omit<TaskOutcome, 'iterations' | 'usage'>): TaskOutcome => {
    const ended: TaskOutcome = { ...fields, iterations: state.iterations };
    if (state.usage) ended.usage = state.usage;
    return ended;
  };
  const partial = () => (state.lastText === undefined ? {} : { result: state.lastText });

  /** Reports a timed step; it rides on the next flush with the loop's progress. */
  const trace = (record: SpanRecord) => output.progress({ iterations: state.iterations, spans: [record] });

  /** One model turn and the tool calls it asked for. Returns the answer when the model gave one. */
  const runIteration = async (iteration: number): Promise<{ answer: string } | undefined> => {
    const response = await timed(
      () => runModelTurn(model, messages, offers, token, output),
      trace,
      (times, turn, error) => ({
        kind: 'model',
        iteration,
        ...times,
        ...(turn ? { toolCalls: turn.calls.length, ...usageField(turn.usage) } : {}),
        ...(error === undefined ? {} : { error }),
      }),
    );
    state.iterations += 1;
    const { text, calls } = response;
    if (text) state.lastText = text;
    if (response.usage) state.usage = addUsage(state.usage, response.usage);
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
    if (calls.length === 0) return { answer: text };

    for (const call of calls) {
      checkpoint();
      const content = await timed(
        () => runTool(call, options, () => checkpoint()),
        trace,
        (times, _content, error) => ({
          kind: 'tool',
          iteration,
          ...times,
          name: call.name.slice(0, MAX_TOOL_NAME_CHARS),
          callId: call.id.slice(0, MAX_TOOL_NAME_CHARS),
          ...(error === undefined ? {} : { error }),
        }),
      );
      messages.push({ role: 'tool', content, toolCallId: call.id });
    }
    // The iteration is complete: hand over what the next model call will build on (with the flush before that
    // call, or the last one if the task ends here), so a crash loses at most the iteration in progress.
    output.checkpoint(takeCheckpoint(messages, state.iterations, options.maxCheckpointChars, steerSeq));
    return undefined;
  };

  try {
    while (state.iterations < options.maxIterations) {
      const iterationStart = spanClock();
      // Back-pressure on a shared thread waits here, where this agent can yield to its co-tenants.
      await output.credit();
      checkpoint(true);
      injectSteering();
      const iteration = state.iterations + 1;
      trace({ kind: 'iteration', iteration, start: iterationStart });
      let ended: { answer: string } | undefined;
      try {
        ended = await runIteration(iteration);
      } finally {
        trace({ kind: 'iteration-end', iteration, end: spanClock() });
      }
      if (ended) return outcome({ status: 'completed', result: ended.answer, exitReason: 'completed' });
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
