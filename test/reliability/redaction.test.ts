import { randomBytes } from 'node:crypto';
import type { Supervisor } from '@errand/core';
import { createDelegationTools, handleToolCall } from '@errand/tools';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a JavaScript fixture without types.
import { startOpenAIServer } from '../fixtures/openai-server.mjs';
import { closeAll, fixture, nextEvent, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

/** Every 12-character piece of `key`: none may appear anywhere. */
function leaks(text: string, key: string): string[] {
  const found: string[] = [];
  for (let index = 0; index + 12 <= key.length; index++) {
    if (text.includes(key.slice(index, index + 12))) found.push(key.slice(index, index + 12));
  }
  return found;
}

/** Records every event a supervisor emits, as JSON (errors with message and stack). */
function recordEvents(sup: Supervisor): string[] {
  const seen: string[] = [];
  const events = [
    'task-start',
    'task-output',
    'task-end',
    'task-status',
    'steer-delivered',
    'worker-error',
  ] as const;
  for (const event of events) {
    sup.on(event, (...args: unknown[]) =>
      seen.push(
        JSON.stringify(args, (_, value) =>
          value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
        ),
      ),
    );
  }
  return seen;
}

/** Every surface of a task: stream, check and collect snapshots, the tools' replies. */
async function surfaces(sup: Supervisor, sessionId: string, id: string): Promise<string[]> {
  const session = sup.session(sessionId);
  const tools = createDelegationTools(session);
  const seen: string[] = [];
  for await (const line of session.stream(id)) seen.push(line.text);
  seen.push(JSON.stringify(await session.collect(id)));
  seen.push(JSON.stringify(session.check(id, { previewLines: 200 })));
  seen.push(await handleToolCall(tools, 'collect_task', { task_id: id }));
  seen.push(await handleToolCall(tools, 'check_task', { task_id: id, preview_lines: 200 }));
  return seen;
}

describe('redaction', () => {
  it('a key streamed in two deltas is hidden everywhere: line cuts, long lines, chunk caps, open lines', async () => {
    const key = `sk-test-${randomBytes(16).toString('hex')}`;
    process.env.ERRAND_PLANTED_API_KEY = key;
    try {
      const sup = supervisor({
        model: {
          provider: 'module',
          specifier: fixture('security-split-model.mjs'),
          options: { keyEnv: 'ERRAND_PLANTED_API_KEY' },
        },
      });
      const seen = recordEvents(sup);
      const session = sup.session('s');
      const id = session.delegate({ goal: 'stream the key' });
      const done = await session.collect(id);
      seen.push(...(await surfaces(sup, 's', id)));
      expect(done.status).toBe('completed');
      const everything = seen.join('\n');
      expect(leaks(everything, key)).toEqual([]);
      expect(done.result).toBe('done with [redacted]');
      expect(done.preview).toContain('split 6: [redacted] end');
      expect(done.preview).toContain(`${'x'.repeat(484)}[redacted]`);
      expect(done.preview).toContain('last [redacted]');
    } finally {
      delete process.env.ERRAND_PLANTED_API_KEY;
    }
  });

  it('a worker crash that quotes the key is redacted in the error and in worker-error events', async () => {
    const key = `sk-test-${randomBytes(16).toString('hex')}`;
    process.env.ERRAND_PLANTED_API_KEY = key;
    try {
      const call = (name: string) => scripted([{ toolCalls: [{ name }] }, { text: 'after' }]);
      const sup = supervisor({
        model: call('uncaught'),
        models: { unhandled: call('unhandled'), later: call('later') },
        toolsets: { crash: fixture('security-crash-toolset.mjs') },
      });
      const seen = recordEvents(sup);
      const session = sup.session('s');
      const crashed = [
        session.delegate({ goal: 'crash', toolsets: ['crash'] }),
        session.delegate({ goal: 'reject', toolsets: ['crash'], model: 'unhandled' }),
      ];
      for (const id of crashed) {
        const snapshot = await session.collect(id);
        expect(snapshot.status).toBe('failed');
        expect(snapshot.error?.code).toBe('worker_crashed');
        expect(snapshot.error?.message).toContain('[redacted]');
        seen.push(...(await surfaces(sup, 's', id)));
      }
      const workerError = nextEvent(sup, 'worker-error');
      const later = session.delegate({ goal: 'throw later', toolsets: ['crash'], model: 'later' });
      const [error] = await workerError;
      expect(error.message).toContain('later with [redacted]');
      seen.push(...(await surfaces(sup, 's', later)));
      expect(leaks(seen.join('\n'), key)).toEqual([]);
    } finally {
      delete process.env.ERRAND_PLANTED_API_KEY;
    }
  });

  it('the variable apiKeyEnv names is a secret whatever it is called: 401 messages and echoed output', async () => {
    const key = `pat_${randomBytes(16).toString('hex')}`;
    process.env.ERRAND_TEST_PAT = key;
    const server = await startOpenAIServer();
    try {
      const spec = {
        provider: 'openai-compatible' as const,
        baseURL: server.url,
        model: 'm',
        apiKeyEnv: 'ERRAND_TEST_PAT',
        maxRetries: 0,
      };
      const sup = supervisor({ model: spec });
      const seen = recordEvents(sup);
      const session = sup.session('s');
      server.queue.push({
        stream: [{ content: `echo ${key.slice(0, 9)}` }, { content: `${key.slice(9)} and ${key}` }],
      });
      const echoed = session.delegate({ goal: 'echo the key', toolsets: [] });
      expect((await session.collect(echoed)).result).toBe('echo [redacted] and [redacted]');
      seen.push(...(await surfaces(sup, 's', echoed)));
      server.queue.length = 0;
      server.queue.push({ status: 401, error: `Incorrect API key provided: ${key}` });
      const refused = session.delegate({ goal: 'be refused', toolsets: [] });
      const snapshot = await session.collect(refused);
      expect(snapshot.status).toBe('failed');
      expect(snapshot.error?.message).toContain('[redacted]');
      seen.push(...(await surfaces(sup, 's', refused)));
      expect(leaks(seen.join('\n'), key)).toEqual([]);
    } finally {
      await closeAll();
      await server.close();
      delete process.env.ERRAND_TEST_PAT;
    }
  });
});
