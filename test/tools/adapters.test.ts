import Anthropic from '@anthropic-ai/sdk';
import {
  createDelegationTools,
  handleToolCall,
  toAISDKTools,
  toAnthropicTools,
  toOpenAITools,
} from '@errand/tools';
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a JavaScript fixture without types.
import { startCaptureServer } from '../fixtures/tools-capture-server.mjs';
import { closeAll, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

interface Capture {
  url: string;
  requests: Array<{ url: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

describe('adapters against the real SDKs', () => {
  it('OpenAI: the tools list goes through the real client and a tool call round-trips', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    const tools = createDelegationTools(sup.session('openai'));
    const server: Capture = await startCaptureServer(() => ({
      id: 'c1',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 't1',
                type: 'function',
                function: {
                  name: 'delegate_task_async',
                  arguments:
                    '{"goal":"summarise","context":null,"toolsets":null,"model":null,"max_iterations":null,"timeout_seconds":null}',
                },
              },
            ],
          },
        },
      ],
    }));
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test' });
      const completion = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'delegate something' }],
        tools: toOpenAITools(tools),
      });
      const sent = server.requests[0]!.body.tools as Array<{
        type: string;
        function: Record<string, unknown>;
      }>;
      expect(sent.map((tool) => tool.function.name)).toEqual(tools.map((tool) => tool.name));
      expect(sent.every((tool) => tool.type === 'function' && tool.function.strict === true)).toBe(true);
      const call = completion.choices[0]!.message.tool_calls![0]!;
      if (call.type !== 'function') throw new Error('expected a function call');
      const reply = JSON.parse(await handleToolCall(tools, call.function.name, call.function.arguments));
      expect(reply.task_id).toMatch(/-/);
    } finally {
      await server.close();
    }
  });

  it('OpenAI strict mode: every property is required and objects are closed', () => {
    const visit = (schema: Record<string, unknown>) => {
      if (schema.type === 'object') {
        expect(schema.additionalProperties).toBe(false);
        expect(schema.required).toEqual(Object.keys((schema.properties as object) ?? {}));
      }
      for (const value of Object.values(schema)) {
        if (value && typeof value === 'object') visit(value as Record<string, unknown>);
      }
    };
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    for (const tool of toOpenAITools(createDelegationTools(sup.session('s'))))
      visit(tool.function.parameters);
  });

  it('Anthropic: the tools list goes through the real client as input_schema', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    const tools = createDelegationTools(sup.session('anthropic'));
    const server: Capture = await startCaptureServer(() => ({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 },
      content: [{ type: 'tool_use', id: 'tu1', name: 'list_tasks', input: {} }],
    }));
    try {
      const client = new Anthropic({ baseURL: server.url, apiKey: 'test' });
      const message = await client.messages.create({
        model: 'claude',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'what is running?' }],
        tools: toAnthropicTools(tools),
      });
      const sent = server.requests[0]!.body.tools as Array<Record<string, unknown>>;
      expect(sent.map((tool) => tool.name)).toEqual(tools.map((tool) => tool.name));
      expect(sent.every((tool) => (tool.input_schema as { type: string }).type === 'object')).toBe(true);
      const use = message.content[0]!;
      if (use.type !== 'tool_use') throw new Error('expected tool_use');
      const reply = JSON.parse(await handleToolCall(tools, use.name, use.input as object));
      expect(reply).toEqual({
        tasks: [],
        counts: {
          queued: 0,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
          timed_out: 0,
          interrupted: 0,
          total: 0,
        },
      });
    } finally {
      await server.close();
    }
  });

  it('Vercel AI SDK: generateText drives real tool calls into errand', async () => {
    const sup = supervisor({ model: scripted([{ text: 'summary ready' }]) });
    const session = sup.session('ai-sdk');
    const tools = toAISDKTools(createDelegationTools(session));
    const usage = {
      inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 1, text: 1, reasoning: undefined },
    };
    let step = 0;
    let taskId = '';
    const model = new MockLanguageModelV3({
      doGenerate: async (options) => {
        step += 1;
        if (step === 1) {
          return {
            content: [
              {
                type: 'tool-call',
                toolCallId: 'a',
                toolName: 'delegate_task_async',
                input: '{"goal":"write the summary"}',
              },
            ],
            finishReason: { unified: 'tool-calls', raw: undefined },
            usage,
            warnings: [],
          };
        }
        if (step === 2) {
          const result = JSON.stringify(options.prompt.at(-1));
          taskId = /"task_id":"([^"]+)"/.exec(result)?.[1] ?? '';
          return {
            content: [
              {
                type: 'tool-call',
                toolCallId: 'b',
                toolName: 'collect_task',
                input: JSON.stringify({ task_id: taskId, timeout_seconds: 30 }),
              },
            ],
            finishReason: { unified: 'tool-calls', raw: undefined },
            usage,
            warnings: [],
          };
        }
        return {
          content: [{ type: 'text', text: 'all done' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage,
          warnings: [],
        };
      },
    });
    const result = await generateText({
      model,
      tools,
      prompt: 'delegate and collect',
      stopWhen: stepCountIs(5),
    });
    expect(result.text).toBe('all done');
    expect(taskId).toMatch(/-/);
    const collected = result.steps[1]!.toolResults[0]!;
    expect(collected.toolName).toBe('collect_task');
    expect(collected.output).toMatchObject({ task_id: taskId, status: 'completed', result: 'summary ready' });
    expect(session.check(taskId).status).toBe('completed');
  });

  it('Vercel AI SDK: the model is offered our JSON Schema with every description; bad arguments get our reply', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    const delegation = createDelegationTools(sup.session('ai-sdk-schema'));
    const usage = {
      inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 1, text: 1, reasoning: undefined },
    };
    const offered: Array<{ type: string; name: string; inputSchema?: unknown }> = [];
    let step = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async (options) => {
        step += 1;
        if (step === 1) {
          offered.push(...(options.tools as typeof offered));
          return {
            content: [
              {
                type: 'tool-call',
                toolCallId: 'a',
                toolName: 'delegate_task_async',
                input: JSON.stringify({ goal: 'g', timeout_seconds: 1e-9 }),
              },
            ],
            finishReason: { unified: 'tool-calls', raw: undefined },
            usage,
            warnings: [],
          };
        }
        return {
          content: [{ type: 'text', text: 'ok' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage,
          warnings: [],
        };
      },
    });
    const result = await generateText({
      model,
      tools: toAISDKTools(delegation),
      prompt: 'delegate',
      stopWhen: stepCountIs(3),
    });
    expect(offered.map((tool) => tool.name)).toEqual(delegation.map((tool) => tool.name));
    for (const tool of delegation) {
      const sent = offered.find((candidate) => candidate.name === tool.name)!.inputSchema as {
        properties: Record<string, { description?: string }>;
      };
      // Exactly our schema: every property required (optional ones admit null), closed, described.
      expect(sent).toEqual(tool.parameters);
      for (const [name, property] of Object.entries(sent.properties)) {
        expect(property.description, `${tool.name}.${name}`).toMatch(/\w/);
      }
    }
    // A bad argument reaches execute, which answers with our short reply rather than the SDK's error.
    expect(result.steps[0]!.toolResults[0]!.output).toEqual({
      error: { code: 'invalid_input', message: 'timeout_seconds must be a number from 1 to 86400, got 1e-9' },
    });
  });
});
