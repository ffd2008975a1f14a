import { defineDelegationTools, type Session } from '@errand/core';
import { createDelegationTools, handleToolCall, toOpenAITools } from '@errand/tools';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeAll, fixture, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

type Reply = Record<string, unknown> & { error?: { code: string; message: string } };

const resumeModel = (options: Record<string, unknown> = {}) => ({
  provider: 'module' as const,
  specifier: fixture('resume-model.mjs'),
  options,
});

function setup(model = resumeModel({ steps: 2 })) {
  const sup = supervisor({ model, models: { done: scripted([{ text: 'done' }]) }, pool: { maxThreads: 1 } });
  const session = sup.session('llm');
  const tools = createDelegationTools(session);
  const call = async (name: string, args: unknown): Promise<Reply> =>
    JSON.parse(await handleToolCall(tools, name, JSON.stringify(args))) as Reply;
  return { sup, session, tools, call };
}

/** Resolves once the output shows the tool result of step `steps` (its checkpoint follows on the same port). */
async function untilStep(session: Session, id: string, steps: number): Promise<void> {
  for await (const line of session.stream(id)) if (line.text === `← echo: s${steps - 1}`) return;
}

describe('delegate_task_async with resume_task_id', () => {
  it('resumes a cancelled task from its checkpoint, says which, and collect returns the finished work', async () => {
    const { session, call } = setup();
    const started = await call('delegate_task_async', {
      goal: 'two steps then wait',
      toolsets: ['echo'],
      max_iterations: 10,
    });
    const id = started.task_id as string;
    await untilStep(session, id, 2);
    expect(await call('cancel_task', { task_id: id, reason: 'restart drill' })).toMatchObject({
      ok: true,
      status: 'cancelled',
    });

    // OpenAI strict form: every other argument present and null; goal is not needed.
    const resumed = await call('delegate_task_async', {
      goal: null,
      context: null,
      toolsets: null,
      model: null,
      role: null,
      max_iterations: null,
      timeout_seconds: 60,
      resume_task_id: id,
    });
    expect(Object.keys(resumed)).toEqual(['task_id', 'status', 'message', 'resumed_from']);
    expect(resumed.resumed_from).toBe(id);
    expect(resumed.task_id).not.toBe(id);
    expect(resumed.message).toContain(id);
    expect(['queued', 'running']).toContain(resumed.status);

    const done = await call('collect_task', { task_id: resumed.task_id, timeout_seconds: 30 });
    expect(done).toMatchObject({
      status: 'completed',
      result: 'resumed with 2 earlier assistant turns',
    });
    expect(session.check(resumed.task_id as string).resumedFrom).toBe(id);
    // The old task stays as it ended.
    expect(await call('check_task', { task_id: id })).toMatchObject({ status: 'cancelled', iterations: 2 });
  });

  it('refuses what cannot be resumed with invalid_input naming why, and other sessions’ ids with not_found', async () => {
    const { sup, session, call } = setup();
    const completed = await call('delegate_task_async', { goal: 'quick', model: 'done' });
    await call('collect_task', { task_id: completed.task_id, timeout_seconds: 30 });
    const refusedCompleted = await call('delegate_task_async', { resume_task_id: completed.task_id });
    expect(refusedCompleted.error?.code).toBe('invalid_input');
    expect(refusedCompleted.error?.message).toMatch(
      /^resume_task_id names task \S+, which completed: there is nothing to resume/,
    );

    // Holds the only thread, so the next task stays queued until it is cancelled: it never runs.
    const running = await call('delegate_task_async', { goal: 'steps', toolsets: ['echo'] });
    await untilStep(session, running.task_id as string, 2);
    const stillRunning = await call('delegate_task_async', { resume_task_id: running.task_id });
    expect(stillRunning.error?.code).toBe('invalid_input');
    expect(stillRunning.error?.message).toMatch(/which is still running/);

    const queued = await call('delegate_task_async', { goal: 'never runs', toolsets: ['echo'] });
    await call('cancel_task', { task_id: queued.task_id });
    const neverRan = await call('delegate_task_async', { resume_task_id: queued.task_id });
    expect(neverRan.error?.code).toBe('invalid_input');
    expect(neverRan.error?.message).toMatch(/no checkpoint: the task never ran/);

    const theirs = sup.session('other').delegate({ goal: 'not yours', model: 'done' });
    for (const id of [theirs, 'no-such-task']) {
      const reply = await call('delegate_task_async', { resume_task_id: id });
      expect(reply.error?.code).toBe('not_found');
    }

    // max_iterations counts the earlier iterations: at or below them is refused in the tool's words.
    await call('cancel_task', { task_id: running.task_id });
    const iterations = session.check(running.task_id as string).iterations;
    const tooFew = await call('delegate_task_async', {
      resume_task_id: running.task_id,
      max_iterations: iterations,
    });
    expect(tooFew.error).toEqual({
      code: 'invalid_input',
      message: `max_iterations must be more than the ${iterations} iterations task ${running.task_id} already ran (they count toward it), got ${iterations}`,
    });

    const neither = await call('delegate_task_async', { goal: null, resume_task_id: null });
    expect(neither.error?.code).toBe('invalid_input');
    expect(neither.error?.message).toMatch(/^goal is required.*resume_task_id/);
  });

  it('is in both schemas: nullable in the strict one, plainly optional (goal too) in the advertised one', () => {
    const { session, tools } = setup();
    const strict = toOpenAITools(tools)[0]!.function.parameters as {
      properties: Record<string, { type?: unknown; anyOf?: unknown }>;
      required: string[];
    };
    expect(strict.required).toContain('resume_task_id');
    expect(JSON.stringify(strict.properties.resume_task_id)).toContain('"null"');
    expect(JSON.stringify(strict.properties.goal)).toContain('"null"');

    const delegate = defineDelegationTools(session)[0]!;
    const advertised = z.toJSONSchema(delegate.advertisedSchema, { io: 'input' }) as {
      properties: Record<string, unknown>;
      required?: string[];
    };
    expect(advertised.properties.resume_task_id).toMatchObject({ type: 'string' });
    expect(advertised.required ?? []).toEqual([]);
    expect(JSON.stringify(advertised)).not.toContain('"null"');
    const output = z.toJSONSchema(delegate.outputSchema, { io: 'output' }) as {
      properties: Record<string, unknown>;
    };
    expect(output.properties.resumed_from).toMatchObject({ type: 'string' });
  });
});
