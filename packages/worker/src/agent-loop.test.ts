import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runAgentLoop, STEERING_PREFIX } from './agent-loop.js';
import { CancelToken } from './cancel-token.js';
import { Inbox } from './inbox.js';
import type { Model, ModelRequest, ModelResponse } from './model.js';
import { OutputStream } from './output-stream.js';
import { CONTROL, type OutputChunk, STOP_CANCEL, type WorkerMessage } from './protocol.js';
import type { LoadedTool } from './toolset.js';

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) channel.port1.close();
});

/** A loop wired to a real MessageChannel, as in a worker; the test plays the parent on port1. */
function harness(model: Model, tools = new Map<string, LoadedTool>()) {
  const channel = new MessageChannel();
  channels.push(channel);
  const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
  const token = new CancelToken(control);
  const output = new OutputStream(channel.port2, 64, 16);
  const inbox = new Inbox(channel.port2, control, token);
  const received = (): WorkerMessage[] => {
    const messages: WorkerMessage[] = [];
    for (
      let entry = receiveMessageOnPort(channel.port1);
      entry;
      entry = receiveMessageOnPort(channel.port1)
    ) {
      messages.push(entry.message as WorkerMessage);
    }
    return messages;
  };
  const run = async () => {
    const outcome = await runAgentLoop({
      taskId: 't',
      sessionId: 's',
      goal: 'the goal',
      model,
      tools,
      maxIterations: 5,
      maxToolResultChars: 50,
      maxCheckpointChars: 2_000_000,
      token,
      inbox,
      output,
    });
    output.flush();
    inbox.close();
    return outcome;
  };
  const chunks = (messages: WorkerMessage[]): OutputChunk[] =>
    messages.flatMap((message) => (message.kind === 'chunks' ? message.chunks : []));
  return { channel, control, run, received, chunks };
}

function turns(...responses: ModelResponse[]): Model & { requests: ModelRequest[] } {
  const requests: ModelRequest[] = [];
  return {
    requests,
    async complete(request) {
      requests.push({ ...request, messages: [...request.messages] });
      return responses[Math.min(requests.length - 1, responses.length - 1)]!;
    },
  };
}

const tool = (run: LoadedTool['definition']['run']): LoadedTool => ({
  definition: { description: 'd', input: z.object({ n: z.number() }), run },
  offer: { name: 'add', description: 'd', parameters: { type: 'object' } },
});

describe('runAgentLoop', () => {
  it('sends the goal, offers the tools, runs tool calls and finishes with the answer and usage', async () => {
    const model = turns(
      {
        text: 'adding',
        toolCalls: [{ id: 'a', name: 'add', arguments: '{"n":2}' }],
        usage: { inputTokens: 3, outputTokens: 1 },
      },
      { text: 'four', usage: { inputTokens: 5, outputTokens: 2 } },
    );
    const { run, received, chunks } = harness(
      model,
      new Map([['add', tool(({ n }: { n: number }) => n + 2)]]),
    );
    const outcome = await run();
    expect(outcome).toEqual({
      status: 'completed',
      result: 'four',
      exitReason: 'completed',
      iterations: 2,
      usage: { inputTokens: 8, outputTokens: 3 },
    });
    expect(model.requests[0]!.messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(model.requests[0]!.messages[0]!.content).toContain('Goal: the goal');
    expect(model.requests[0]!.tools.map((offer) => offer.name)).toEqual(['add']);
    expect(model.requests[1]!.messages.at(-1)).toEqual({ role: 'tool', content: '4', toolCallId: 'a' });
    expect(chunks(received()).map((chunk) => chunk.kind)).toEqual([
      'text',
      'tool_call',
      'tool_result',
      'text',
    ]);
  });

  it('posts one message per step: text, progress and tool call together, then the result before the next turn', async () => {
    const model = turns(
      { text: 'adding', toolCalls: [{ id: 'a', name: 'add', arguments: '{"n":2}' }] },
      { text: 'four' },
    );
    const { run, received } = harness(model, new Map([['add', tool(({ n }: { n: number }) => n + 2)]]));
    await run();
    const messages = received().map((message) =>
      message.kind === 'chunks'
        ? {
            kinds: message.chunks.map((chunk) => chunk.kind),
            iterations: message.progress?.iterations,
            steps: message.progress?.spans?.map((span) => span.kind),
          }
        : { kind: message.kind },
    );
    // Step timings (for the host's OpenTelemetry spans) ride on these messages and add none.
    expect(messages).toEqual([
      { kinds: ['text', 'tool_call'], iterations: 1, steps: ['iteration', 'model'] },
      { kinds: ['tool_result'], iterations: 1, steps: ['tool', 'iteration-end'] },
      { kinds: ['text'], iterations: 2, steps: ['iteration', 'model', 'iteration-end'] },
    ]);
  });

  it('writes streamed text once', async () => {
    const model: Model = {
      async complete({ onTextDelta }) {
        onTextDelta?.('str');
        onTextDelta?.('eamed');
        return { text: 'streamed' };
      },
    };
    const { run, received, chunks } = harness(model);
    await run();
    expect(
      chunks(received())
        .map((chunk) => chunk.text)
        .join(''),
    ).toBe('streamed\n');
  });

  it('cuts long tool results before the model sees them', async () => {
    const model = turns({ toolCalls: [{ id: 'a', name: 'add', arguments: { n: 1 } }] }, { text: 'ok' });
    const { run } = harness(model, new Map([['add', tool(() => 'z'.repeat(500))]]));
    await run();
    const fed = model.requests[1]!.messages.at(-1)!.content;
    expect(fed.startsWith('z'.repeat(50))).toBe(true);
    expect(fed).toContain('[cut: 450 more characters]');
  });

  it('injects steering as a marked user message and acknowledges it', async () => {
    const model = turns({ toolCalls: [{ id: 'a', name: 'add', arguments: { n: 1 } }] }, { text: 'ok' });
    const { run, channel, control, received, chunks } = harness(model, new Map([['add', tool(() => 'r')]]));
    channel.port1.postMessage({ kind: 'steer', seq: 1, text: 'be brief' });
    Atomics.add(control, CONTROL.steerCount, 1);
    await run();
    expect(model.requests[0]!.messages.at(-1)).toEqual({
      role: 'user',
      content: `${STEERING_PREFIX} be brief`,
    });
    expect(chunks(received()).find((chunk) => chunk.kind === 'steer_ack')).toEqual({
      kind: 'steer_ack',
      seq: 1,
      text: 'be brief',
    });
  });

  it('stops at a checkpoint once the flag is set, keeping the last text', async () => {
    let control!: Int32Array;
    const model = turns({ text: 'step', toolCalls: [{ id: 'a', name: 'add', arguments: { n: 1 } }] });
    const built = harness(
      model,
      new Map([
        [
          'add',
          tool((_args, ctx) => {
            Atomics.store(control, CONTROL.stop, STOP_CANCEL);
            ctx.checkpoint();
            return 'unreachable';
          }),
        ],
      ]),
    );
    control = built.control;
    const outcome = await built.run();
    expect(outcome).toMatchObject({
      status: 'cancelled',
      exitReason: 'cancelled',
      result: 'step',
      iterations: 1,
    });
    expect(outcome.error?.code).toBe('cancelled');
  });

  it('reports a model that returns nonsense as an empty answer, not a crash', async () => {
    const model = { complete: async () => ({ toolCalls: 'bad' }) as unknown as ModelResponse };
    const { run } = harness(model);
    expect(await run()).toMatchObject({ status: 'completed', result: '' });
  });
});
