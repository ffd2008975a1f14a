import type { Session } from '@errand/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const resumeModel = (options: Record<string, unknown> = {}) => ({
  provider: 'module' as const,
  specifier: fixture('resume-model.mjs'),
  options,
});

/**
 * Resolves once the output shows the tool result of step `steps`: the worker posts that iteration's checkpoint
 * right after it, on the same port, so it reaches the host before anything the test does next.
 */
async function untilStep(session: Session, id: string, steps: number): Promise<void> {
  for await (const line of session.stream(id)) if (line.text === `← echo: s${steps - 1}`) return;
}

describe('resume (memory store)', () => {
  it('goes on from the last checkpoint: the model sees its earlier turns, iterations continue', async () => {
    const sup = supervisor({ model: resumeModel({ steps: 2 }) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'two steps then wait', toolsets: ['echo'], maxIterations: 10 });
    await untilStep(session, id, 2);
    const cancelled = await session.cancel(id, { reason: 'host restart drill' });
    expect(cancelled).toMatchObject({ status: 'cancelled', iterations: 2 });

    const resumed = session.resume(id);
    expect(typeof resumed).toBe('string');
    expect(resumed).not.toBe(id);
    const done = await session.collect(resumed, { timeoutMs: 30_000 });
    expect(done).toMatchObject({
      status: 'completed',
      resumedFrom: id,
      result: 'resumed with 2 earlier assistant turns',
      iterations: 3,
    });
    // The old record stays as it ended.
    expect(session.check(id)).toMatchObject({ status: 'cancelled', iterations: 2 });
    expect(session.check(id).resumedFrom).toBeUndefined();
  });

  it('counts maxIterations in total, defaulting to the original task’s', async () => {
    const sup = supervisor({ model: resumeModel({ steps: 5 }) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'], maxIterations: 2 });
    const failed = await session.collect(id, { timeoutMs: 30_000 });
    expect(failed).toMatchObject({ status: 'failed', exitReason: 'max_iterations', iterations: 2 });
    expect(() => session.resume(id)).toThrow(/maxIterations must be more than the 2 iterations/);
    const more = session.resume(id, { maxIterations: 3 });
    expect(await session.collect(more, { timeoutMs: 30_000 })).toMatchObject({
      status: 'completed',
      iterations: 3,
      result: 'resumed with 2 earlier assistant turns',
    });
  });

  it('refuses what cannot be resumed, naming why', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]), pool: { maxThreads: 1 } });
    const session = sup.session('s');
    const completed = session.delegate({ goal: 'g' });
    await session.collect(completed);
    expect(() => session.resume(completed)).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: expect.stringMatching(/completed: there is nothing to resume/),
      }),
    );
    const neverRan = session.delegate({ goal: 'never runs' });
    await session.cancel(neverRan);
    expect(() => session.resume(neverRan)).toThrow(/no checkpoint: the task never ran/);
    expect(() => sup.session('other').resume(completed)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
    expect(() => session.resume('nope')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});
