import { randomBytes } from 'node:crypto';
import { createDelegationTools, handleToolCall } from '@errand/tools';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, probe, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('security', () => {
  it('task ids are random uuid v4s', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'x', delayMs: 60_000 }]),
      limits: { maxTasksPerSession: 500 },
    });
    const session = sup.session('ids');
    const ids = Array.from({ length: 500 }, () => session.delegate({ goal: 'g' }));
    expect(ids.every((id) => UUID_V4.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('another session\u2019s task id answers exactly like one that never existed, through the tools too', async () => {
    const sup = supervisor({ model: scripted([{ text: 'x', delayMs: 60_000 }]) });
    const theirs = sup.session('victim').delegate({ goal: 'private' });
    const tools = createDelegationTools(sup.session('attacker'));
    const unknown = '2f1c7a4e-8b3d-4e5f-9a6b-7c8d9e0f1a2b';
    for (const name of ['check_task', 'collect_task', 'cancel_task', 'steer_task']) {
      const forArgs = (id: string) =>
        name === 'steer_task' ? { task_id: id, message: 'x' } : { task_id: id };
      const foreign = JSON.parse(await handleToolCall(tools, name, forArgs(theirs)));
      const missing = JSON.parse(await handleToolCall(tools, name, forArgs(unknown)));
      expect(foreign.error.code).toBe('not_found');
      expect(foreign.error.message.replace(theirs, '<id>')).toBe(
        missing.error.message.replace(unknown, '<id>'),
      );
    }
    expect(sup.session('victim').check(theirs).status).not.toBe('cancelled');
  });

  it('bounds tool arguments: oversized calls go back to the model and the tool never runs', async () => {
    const sup = supervisor({
      model: probe([
        { toolCalls: [{ name: 'echo', arguments: { text: 'x'.repeat(200_000) } }] },
        { text: '$conversation' },
      ]),
    });
    const session = sup.session('s');
    const done = await session.collect(session.delegate({ goal: 'g', toolsets: ['echo'] }));
    expect(done.status).toBe('completed');
    expect(done.result).toMatch(/tool: \{"error":"arguments are 200011 characters; the limit is 100000"\}/);
    expect(done.preview.some((line) => line.startsWith('echoing'))).toBe(false);
  });

  it('a planted API key appears on no surface: snapshots, output, stream, events, errors, tool replies', async () => {
    const key = `sk-test-${randomBytes(16).toString('hex')}`;
    process.env.ERRAND_PLANTED_API_KEY = key;
    try {
      const leaky = (throws: boolean) => ({
        provider: 'module' as const,
        specifier: fixture('security-leaky-model.mjs'),
        options: { keyEnv: 'ERRAND_PLANTED_API_KEY', throws },
      });
      const sup = supervisor({ model: leaky(false), models: { broken: leaky(true) } });
      const seen: string[] = [];
      for (const event of [
        'task-start',
        'task-output',
        'task-end',
        'task-status',
        'steer-delivered',
        'worker-error',
      ] as const) {
        sup.on(event, (...args: unknown[]) => seen.push(JSON.stringify(args)));
      }
      const session = sup.session('s');
      const tools = createDelegationTools(session);
      const ok = session.delegate({ goal: 'use the key', toolsets: ['echo'] });
      const broken = session.delegate({ goal: 'fail with the key', model: 'broken' });
      for await (const line of session.stream(ok)) seen.push(line.text);
      for (const id of [ok, broken]) {
        seen.push(JSON.stringify(await session.collect(id)));
        seen.push(JSON.stringify(session.check(id, { previewLines: 200 })));
        seen.push(await handleToolCall(tools, 'collect_task', { task_id: id }));
        seen.push(await handleToolCall(tools, 'check_task', { task_id: id, preview_lines: 200 }));
      }
      seen.push(JSON.stringify(session.list()), await handleToolCall(tools, 'list_tasks', {}));
      const everything = seen.join('\n');
      expect(everything).not.toContain(key);
      // The key really was used and echoed: it was caught, not absent.
      expect(everything).toContain('[redacted]');
      expect(session.check(broken).error).toEqual({
        code: 'model_error',
        message: 'model failed: 401 from upstream: invalid key [redacted]',
      });
      expect(session.check(ok).result).toBe('final answer with [redacted]');
    } finally {
      delete process.env.ERRAND_PLANTED_API_KEY;
    }
  });
});
