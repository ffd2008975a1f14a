import { randomBytes } from 'node:crypto';
import type { TaskSnapshot } from '@errand/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a JavaScript fixture without types.
import { startOpenAIServer } from '../fixtures/openai-server.mjs';
import { closeAll, supervisor } from '../helpers.js';

interface Server {
  url: string;
  queue: unknown[];
  requests: Array<{ headers: Record<string, string>; body: Record<string, unknown> }>;
  closed: number[];
  close(): Promise<void>;
}

let server: Server;
const KEY_ENV = 'ERRAND_TEST_OPENAI_KEY';
const key = `sk-errand-${randomBytes(12).toString('hex')}`;

beforeEach(async () => {
  process.env[KEY_ENV] = key;
  server = await startOpenAIServer();
});
afterEach(async () => {
  await closeAll();
  await server.close();
  delete process.env[KEY_ENV];
});

function setup(extra: { maxRetries?: number; grace?: number } = {}) {
  const sup = supervisor({
    model: {
      provider: 'openai-compatible',
      baseURL: server.url,
      model: 'test-model',
      apiKeyEnv: KEY_ENV,
      maxRetries: extra.maxRetries ?? 2,
    },
    limits: { cancelGraceMs: extra.grace ?? 2_000 },
  });
  return { sup, session: sup.session('openai') };
}

const everything = (snapshot: TaskSnapshot) => JSON.stringify(snapshot);

describe('openai-compatible provider, against a local OpenAI-protocol server', () => {
  it('streams text into check() before the task completes, and records usage', async () => {
    let release!: () => void;
    server.queue.push({
      stream: [{ content: 'Hel' }, { content: 'lo' }, { content: ' world' }],
      holdUntil: new Promise<void>((resolve) => {
        release = resolve;
      }),
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    });
    const { sup, session } = setup();
    const id = session.delegate({ goal: 'greet', toolsets: [] });
    // The stream is held open: what check() shows now can only have come from deltas.
    await new Promise<void>((resolve) => {
      const poll = () =>
        session.check(id).preview.join('').includes('Hello world') ? resolve() : setTimeout(poll, 10);
      poll();
    });
    expect(session.check(id).status).toBe('running');
    release();
    const done = await session.collect(id);
    expect(done).toMatchObject({
      status: 'completed',
      result: 'Hello world',
      usage: { inputTokens: 12, outputTokens: 3 },
    });
    expect(done.preview).toEqual(['Hello world']);
    const request = server.requests[0]!;
    expect(request.headers.authorization).toBe(`Bearer ${key}`);
    expect(request.body).toMatchObject({
      model: 'test-model',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(everything(done)).not.toContain(key);
    void sup;
  });

  it('assembles streamed tool calls, runs the tool, and sends the result back', async () => {
    server.queue.push(
      {
        stream: [
          {
            toolCalls: [
              { index: 0, id: 'call_1', type: 'function', function: { name: 'echo', arguments: '' } },
            ],
          },
          { toolCalls: [{ index: 0, function: { arguments: '{"text":' } }] },
          { toolCalls: [{ index: 0, function: { arguments: '"ping"}' } }] },
        ],
      },
      { stream: [{ content: 'echoed' }] },
    );
    const { session } = setup();
    const done = await session.collect(session.delegate({ goal: 'echo ping', toolsets: ['echo'] }));
    expect(done).toMatchObject({ status: 'completed', result: 'echoed' });
    expect(done.preview).toContain('← echo: ping');
    const second = server.requests[1]!.body.messages as Array<Record<string, unknown>>;
    expect(second.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: 'call_1', function: { name: 'echo', arguments: '{"text":"ping"}' } }],
    });
    expect(second.at(-1)).toEqual({ role: 'tool', content: 'ping', tool_call_id: 'call_1' });
    expect(
      (server.requests[0]!.body.tools as Array<{ function: { name: string } }>).map(
        (tool) => tool.function.name,
      ),
    ).toEqual(['echo', 'spin']);
  });

  it('feeds malformed tool-call JSON back to the model as a tool error', async () => {
    server.queue.push(
      {
        stream: [
          {
            toolCalls: [
              { index: 0, id: 'bad', type: 'function', function: { name: 'echo', arguments: '{"text": ' } },
            ],
          },
        ],
      },
      { stream: [{ content: 'recovered' }] },
    );
    const { session } = setup();
    const done = await session.collect(session.delegate({ goal: 'g', toolsets: ['echo'] }));
    expect(done).toMatchObject({ status: 'completed', result: 'recovered' });
    const fed = (server.requests[1]!.body.messages as Array<{ role: string; content: string }>).at(-1)!;
    expect(fed.role).toBe('tool');
    expect(fed.content).toContain('arguments are not valid JSON');
  });

  it('retries a 429 and then succeeds', async () => {
    server.queue.push({ status: 429, error: 'slow down' }, { stream: [{ content: 'after retry' }] });
    const { session } = setup();
    const done = await session.collect(session.delegate({ goal: 'g', toolsets: [] }));
    expect(done).toMatchObject({ status: 'completed', result: 'after retry' });
    expect(server.requests).toHaveLength(2);
  });

  it('gives up on a persistent 500 after a bounded number of retries, with the server message and no key', async () => {
    server.queue.push({ status: 500, error: `backend exploded (key was ${key})` });
    const { session } = setup({ maxRetries: 2 });
    const done = await session.collect(session.delegate({ goal: 'g', toolsets: [] }));
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('model_error');
    expect(done.error?.message).toContain('backend exploded');
    expect(server.requests).toHaveLength(3);
    expect(everything(done)).not.toContain(key);
  });

  it('cuts a slow stream when the task is cancelled: the server sees the socket close', async () => {
    server.queue.push({ drip: true });
    const { session } = setup({ grace: 1_000 });
    const id = session.delegate({ goal: 'g', toolsets: [] });
    await new Promise<void>((resolve) => {
      const poll = () =>
        session.check(id).preview.join('').includes('...') ? resolve() : setTimeout(poll, 10);
      poll();
    });
    const before = Date.now();
    const snapshot = await session.cancel(id);
    expect(snapshot.status).toBe('cancelled');
    expect(Date.now() - before).toBeLessThan(1_000);
    await new Promise<void>((resolve) => {
      const poll = () => (server.closed.length > 0 ? resolve() : setTimeout(poll, 10));
      poll();
    });
    expect(server.closed[0]! - before).toBeLessThan(1_000);
  });

  it('fails with model_error naming the variable when the key is missing', async () => {
    delete process.env[KEY_ENV];
    const sup = supervisor({
      model: {
        provider: 'openai-compatible',
        baseURL: server.url,
        model: 'm',
        apiKeyEnv: 'ERRAND_NO_SUCH_KEY',
      },
    });
    const session = sup.session('s');
    const done = await session.collect(session.delegate({ goal: 'g', toolsets: [] }));
    expect(done.error).toEqual({
      code: 'model_error',
      message: 'the environment variable ERRAND_NO_SUCH_KEY (apiKeyEnv) is not set in the worker',
    });
  });
});
