import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '@errand/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a JavaScript fixture without types.
import { startOpenAIServer } from '../fixtures/openai-server.mjs';
import { closeAll, fixture, nextEvent, supervisor } from '../helpers.js';

/** A name the redactor would not guess is secret: only `apiKeyEnv` makes it one. */
const KEY_ENV = 'ERRAND_AI_SDK_PLAIN';
const key = `k-${randomBytes(12).toString('hex')}`;

type Turn = Record<string, unknown>;
const mock = (turns: Turn[], extra: Record<string, unknown> = {}) => ({
  provider: 'ai-sdk' as const,
  module: fixture('ai-sdk-mock-provider.mjs'),
  factory: 'createMockProvider',
  model: 'mock-model',
  options: { turns },
  ...extra,
});

beforeEach(() => {
  process.env[KEY_ENV] = key;
});
afterEach(async () => {
  await closeAll();
  delete process.env[KEY_ENV];
});

describe('ai-sdk provider, with the AI SDK’s mock provider', () => {
  it('offers our tools as definitions, runs the call in the loop and sends the result back as AI SDK messages', async () => {
    const sup = supervisor({
      model: mock(
        [
          {
            text: ['look', 'ing'],
            toolCalls: [{ id: 'call_1', name: 'echo', input: { text: 'ping' } }],
            usage: [7, 2],
          },
          { echo: true },
        ],
        { apiKeyEnv: KEY_ENV },
      ),
      limits: { maxResultChars: 200_000 },
    });
    const session = sup.session('ai-sdk');
    const done = await session.collect(session.delegate({ goal: 'echo ping', toolsets: ['echo'] }));
    expect(done.status).toBe('completed');
    expect(done.preview).toContain('looking');
    expect(done.preview).toContain('← echo: ping');
    expect(done.usage).toEqual({ inputTokens: 10, outputTokens: 3 });
    const seen = JSON.parse(done.result!) as {
      prompt: Array<{ role: string; content: unknown }>;
      tools: Array<{ type: string; name: string; inputSchema: { properties: Record<string, unknown> } }>;
      hasKey: boolean;
    };
    expect(seen.hasKey).toBe(true);
    expect(seen.tools.map((tool) => [tool.type, tool.name])).toEqual([
      ['function', 'echo'],
      ['function', 'spin'],
    ]);
    expect(seen.tools[0]!.inputSchema.properties).toHaveProperty('text');
    expect(seen.prompt.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(seen.prompt[2]!.content).toEqual([
      { type: 'text', text: 'looking' },
      { type: 'tool-call', toolCallId: 'call_1', toolName: 'echo', input: { text: 'ping' } },
    ]);
    expect(seen.prompt[3]!.content).toEqual([
      {
        type: 'tool-result',
        toolCallId: 'call_1',
        toolName: 'echo',
        output: { type: 'text', value: 'ping' },
      },
    ]);
  });

  it('streams deltas into check() before the turn ends, and cancel aborts the call', async () => {
    const sup = supervisor({ model: mock([{ hang: true, text: ['Hel', 'lo'] }]) });
    const session = sup.session('ai-sdk');
    const id = session.delegate({ goal: 'greet', toolsets: [] });
    await nextEvent(sup, 'task-output', () => session.check(id).preview.join('').includes('Hello'));
    expect(session.check(id).status).toBe('running');
    const cancelled = await session.cancel(id);
    expect(cancelled).toMatchObject({ status: 'cancelled', exitReason: 'cancelled' });
  });

  it('reads the key inside the worker from apiKeyEnv and redacts it, whatever the variable is called', async () => {
    const sup = supervisor({
      model: mock([{ leakKey: true }], { apiKeyEnv: KEY_ENV }),
      models: { unset: mock([{ leakKey: true }], { apiKeyEnv: 'ERRAND_AI_SDK_UNSET' }) },
    });
    const session = sup.session('ai-sdk');
    const done = await session.collect(session.delegate({ goal: 'leak', toolsets: [] }));
    expect(done.status).toBe('completed');
    expect(done.result).toBe('the key is [redacted]');
    expect(JSON.stringify(done)).not.toContain(key);
    // Workers copy the environment when they start, so the unset variable is another one.
    const unset = await session.collect(session.delegate({ goal: 'no key', model: 'unset', toolsets: [] }));
    expect(unset).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(unset.error!.message).toContain('ERRAND_AI_SDK_UNSET (apiKeyEnv) is not set');
  });

  it('fails with model_error naming the package to install, or the export that is missing', async () => {
    const sup = supervisor({
      model: mock([{ text: ['x'] }], { module: '@ai-sdk/not-installed-here', factory: 'createNothing' }),
      models: { wrong: mock([{ text: ['x'] }], { factory: 'createAnthropic' }) },
    });
    const session = sup.session('ai-sdk');
    const missing = await session.collect(session.delegate({ goal: 'x', toolsets: [] }));
    expect(missing.error).toMatchObject({ code: 'model_error' });
    expect(missing.error!.message).toContain('npm install @ai-sdk/not-installed-here');
    const wrong = await session.collect(session.delegate({ goal: 'x', model: 'wrong', toolsets: [] }));
    expect(wrong.error!.message).toMatch(/no function export createAnthropic .*createMockProvider/);
  });

  it('validates the spec strictly where it enters', () => {
    const bad = [
      { ...mock([]), factory: 'create-anthropic' },
      { ...mock([]), module: 'Not A Package' },
      { ...mock([]), model: '' },
      { ...mock([]), apiKey: 'sk-inline' },
      { ...mock([]), apiKeyEnv: 'NOT-A-NAME' },
    ];
    for (const model of bad) expect(() => supervisor({ model: model as never })).toThrow(InvalidInputError);
    expect(() => supervisor({ model: bad[0] as never })).toThrow(
      'model.factory must be the name of an export (e.g. "createAnthropic"), got "create-anthropic" (string)',
    );
    expect(() => supervisor({ model: bad[1] as never })).toThrow(
      'model.module must be a package name (e.g. "@ai-sdk/anthropic") or a file URL, got "Not A Package" (string)',
    );
  });
});

describe('ai-sdk provider, with @ai-sdk/openai-compatible against a local server', () => {
  interface Server {
    url: string;
    queue: unknown[];
    requests: Array<{ headers: Record<string, string>; body: Record<string, unknown> }>;
    closed: number[];
    close(): Promise<void>;
  }
  let server: Server;
  beforeEach(async () => {
    server = await startOpenAIServer();
  });
  afterEach(async () => {
    await closeAll();
    await server.close();
  });
  const compatible = () => ({
    provider: 'ai-sdk' as const,
    module: pathToFileURL(createRequire(import.meta.url).resolve('@ai-sdk/openai-compatible')).href,
    factory: 'createOpenAICompatible',
    model: 'test-model',
    apiKeyEnv: KEY_ENV,
    options: { name: 'local', baseURL: server.url, includeUsage: true },
  });

  it('streams text, sends tools, assembles tool calls, records usage and sends the key as a bearer token', async () => {
    server.queue.push(
      {
        stream: [
          { content: 'Checking. ' },
          {
            toolCalls: [
              { index: 0, id: 'call_1', type: 'function', function: { name: 'echo', arguments: '{"text":' } },
            ],
          },
          { toolCalls: [{ index: 0, function: { arguments: '"ping"}' } }] },
        ],
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
        finishReason: 'tool_calls',
      },
      {
        stream: [{ content: 'echoed' }],
        usage: { prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 },
        finishReason: 'stop',
      },
    );
    const sup = supervisor({ model: compatible() });
    const session = sup.session('compatible');
    const done = await session.collect(session.delegate({ goal: 'echo ping', toolsets: ['echo'] }));
    expect(done).toMatchObject({
      status: 'completed',
      result: 'echoed',
      usage: { inputTokens: 32, outputTokens: 4 },
    });
    expect(done.preview).toContain('← echo: ping');
    const [first, second] = server.requests;
    expect(first!.headers.authorization).toBe(`Bearer ${key}`);
    expect(first!.body).toMatchObject({ model: 'test-model', stream: true });
    expect(
      (first!.body.tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name),
    ).toEqual(['echo', 'spin']);
    const messages = second!.body.messages as Array<Record<string, unknown>>;
    expect(messages.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: 'call_1', function: { name: 'echo', arguments: '{"text":"ping"}' } }],
    });
    expect(messages.at(-1)).toMatchObject({ role: 'tool', content: 'ping', tool_call_id: 'call_1' });
  });

  it('cancel aborts the HTTP request', async () => {
    server.queue.push({ drip: true });
    const sup = supervisor({ model: compatible() });
    const session = sup.session('compatible');
    const id = session.delegate({ goal: 'drip', toolsets: [] });
    await nextEvent(sup, 'task-output', () => session.check(id).preview.join('').includes('..'));
    const closed = new Promise<void>((resolve) => {
      const check = () => (server.closed.length > 0 ? resolve() : setImmediate(check));
      check();
    });
    expect((await session.cancel(id)).status).toBe('cancelled');
    await closed;
    expect(server.closed).toHaveLength(1);
  });

  it('ends the task model_error with the server’s message', async () => {
    server.queue.push({ status: 400, error: 'model test-model does not exist' });
    const sup = supervisor({ model: { ...compatible(), maxRetries: 0 } });
    const session = sup.session('compatible');
    const done = await session.collect(session.delegate({ goal: 'x', toolsets: [] }));
    expect(done).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(done.error!.message).toContain('model test-model does not exist');
  });
});
