import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, lineMatching, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

describe('worker faults', () => {
  it('fails a task whose model throws with model_error', async () => {
    const sup = supervisor({
      model: { provider: 'module', specifier: fixture('engine-throwing-model.mjs') },
    });
    const session = sup.session('s');
    const snapshot = await session.collect(session.delegate({ goal: 'g' }));
    expect(snapshot).toMatchObject({ status: 'failed', exitReason: 'error' });
    expect(snapshot.error).toEqual({
      code: 'model_error',
      message: 'model failed: model backend unavailable',
    });
  });

  it('fails a task whose model module cannot be loaded with model_error', async () => {
    const sup = supervisor({ model: { provider: 'module', specifier: '/nowhere/model.mjs' } });
    const session = sup.session('s');
    const snapshot = await session.collect(session.delegate({ goal: 'g' }));
    expect(snapshot.error?.code).toBe('model_error');
    expect(snapshot.error?.message).toContain('/nowhere/model.mjs');
  });

  it('fails a task whose tool throws with tool_error, keeping its output', async () => {
    const sup = supervisor({ model: scripted([{ text: 'trying', toolCalls: [{ name: 'fail' }] }]) });
    const session = sup.session('s');
    const snapshot = await session.collect(session.delegate({ goal: 'g', toolsets: ['faults'] }));
    expect(snapshot).toMatchObject({ status: 'failed', result: 'trying' });
    expect(snapshot.error).toEqual({ code: 'tool_error', message: 'tool fail failed: the tool broke' });
    expect(snapshot.preview).toEqual(['trying', '→ fail {}']);
  });

  it('feeds an unknown tool and bad arguments back to the model, and carries on', async () => {
    const sup = supervisor({
      model: {
        provider: 'module',
        specifier: fixture('engine-probe-model.mjs'),
        options: {
          turns: [
            { toolCalls: [{ name: 'nope', arguments: {} }] },
            { toolCalls: [{ name: 'echo', arguments: '{not json' }] },
            { toolCalls: [{ name: 'echo', arguments: { text: 5 } }] },
            { text: '$conversation' },
          ],
        },
      },
    });
    const session = sup.session('s');
    const snapshot = await session.collect(session.delegate({ goal: 'g', toolsets: ['echo'] }));
    expect(snapshot.status).toBe('completed');
    expect(snapshot.result).toContain('unknown tool \\"nope\\"; available tools: echo, spin');
    expect(snapshot.result).toContain('arguments are not valid JSON');
    expect(snapshot.result).toContain('invalid arguments: text:');
  });

  it.each([
    ['process.exit() in the worker', 'exit', /exit|exited/i, {}],
    ['heap exhaustion under resourceLimits', 'allocate', /memory/i, { maxOldGenerationSizeMb: 32 }],
  ])('fails a task on %s with worker_crashed, and the pool recovers', async (_name, tool, reason, pool) => {
    const sup = supervisor({
      model: scripted([{ text: 'about to crash', toolCalls: [{ name: tool }] }]),
      models: { ok: scripted([{ text: 'fine', delayMs: 200 }]) },
      pool: { maxThreads: 2, ...pool },
    });
    const session = sup.session('s');
    const bystander = session.delegate({ goal: 'bystander', model: 'ok' });
    const crashing = session.delegate({ goal: 'g', toolsets: ['faults'] });
    const snapshot = await session.collect(crashing);
    expect(snapshot).toMatchObject({ status: 'failed', exitReason: 'crashed', result: 'about to crash' });
    expect(snapshot.error?.code).toBe('worker_crashed');
    expect(snapshot.error?.message).toMatch(reason);
    expect(await session.collect(bystander)).toMatchObject({ status: 'completed', result: 'fine' });
    const after = session.delegate({ goal: 'after', model: 'ok' });
    expect((await session.collect(after)).status).toBe('completed');
  });

  it('fails a toolset that cannot be loaded with tool_error', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'x' }]),
      toolsets: { broken: '/nowhere/toolset.mjs' },
    });
    const session = sup.session('s');
    const snapshot = await session.collect(session.delegate({ goal: 'g' }));
    expect(snapshot.error?.code).toBe('tool_error');
    expect(snapshot.error?.message).toContain('cannot load toolset broken');
  });

  it('shows the running tool while it blocks its thread', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'hang' }] }]),
      limits: { cancelGraceMs: 50 },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['faults'] });
    expect(await lineMatching(session, id, /hang/)).toBe('→ hang {}');
    expect((await session.cancel(id)).status).toBe('cancelled');
  });
});
