import type { SupervisorOptions } from '@errand/core';
import { createDelegationTools, handleToolCall, MAX_ARGUMENT_CHARS, TOOL_NAMES } from '@errand/tools';
import { STEERING_PREFIX } from '@errand/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, lineMatching, probe, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

type Reply = Record<string, unknown> & { error?: { code: string; message: string } };

function setup(
  model: SupervisorOptions['model'] = scripted([{ text: 'done' }]),
  extra: Partial<SupervisorOptions> = {},
) {
  const sup = supervisor({
    model,
    models: {
      slow: scripted([{ text: 'slow', delayMs: 60_000 }]),
      fail: scripted([{ toolCalls: [{ name: 'fail' }] }]),
    },
    ...extra,
  });
  const session = sup.session('llm');
  const tools = createDelegationTools(session);
  const call = async (name: string, args: unknown): Promise<Reply> =>
    JSON.parse(await handleToolCall(tools, name, args as object)) as Reply;
  return { sup, session, tools, call };
}

describe('the six tools', () => {
  it('are named as the contract says, with object JSON Schemas', () => {
    const { tools } = setup();
    expect(tools.map((tool) => tool.name)).toEqual([...TOOL_NAMES]);
    expect(TOOL_NAMES).toEqual([
      'delegate_task_async',
      'check_task',
      'collect_task',
      'steer_task',
      'cancel_task',
      'list_tasks',
    ]);
    for (const tool of tools) {
      expect(tool.parameters.type).toBe('object');
      expect(tool.parameters.additionalProperties).toBe(false);
      expect(tool.parameters.required).toEqual(Object.keys(tool.parameters.properties as object));
      expect(tool.description.length).toBeGreaterThan(40);
    }
    const delegate = tools[0]!;
    expect(delegate.description).toMatch(/keep working/i);
    expect(tools[2]!.description).toMatch(/timeout/);
    expect(tools[1]!.description).toMatch(/tight loop/);
    expect(tools[3]!.description).toMatch(/next step/);
  });

  it('delegate replies at once with the required fields, and collect returns the result', async () => {
    const { call } = setup(scripted([{ text: 'the answer', usage: { inputTokens: 5, outputTokens: 2 } }]));
    const started = await call('delegate_task_async', {
      goal: 'find the answer',
      context: null,
      toolsets: null,
    });
    expect(Object.keys(started).sort()).toEqual(['message', 'status', 'task_id']);
    expect(['queued', 'running']).toContain(started.status);
    const done = await call('collect_task', { task_id: started.task_id, timeout_seconds: 30 });
    expect(done).toMatchObject({
      task_id: started.task_id,
      status: 'completed',
      timed_out: false,
      result: 'the answer',
      output: 'the answer',
      output_lines: 1,
      dropped_lines: 0,
      exit_reason: 'completed',
      usage: { input_tokens: 5, output_tokens: 2 },
    });
    expect(typeof done.elapsed_seconds).toBe('number');
    // A finished task comes back at once, whatever the timeout.
    const again = await call('collect_task', { task_id: started.task_id, timeout_seconds: 300 });
    expect(again.status).toBe('completed');
  });

  it('rejects a blank or missing goal, and names snake_case fields', async () => {
    const { call, session } = setup();
    for (const args of [{}, { goal: '' }, { goal: '   ' }, { goal: 7 }, null]) {
      const reply = await call('delegate_task_async', args);
      expect(reply.error?.code).toBe('invalid_input');
      expect(reply.error?.message).toMatch(/goal/);
    }
    const bad = await call('delegate_task_async', { goal: 'g', max_iterations: 0 });
    expect(bad.error?.message).toMatch(/max_iterations/);
    const big = await call('delegate_task_async', { goal: 'g', max_iterations: 100_000 });
    expect(big.error).toMatchObject({ code: 'invalid_input' });
    expect(big.error?.message).toMatch(/max_iterations/);
    const unknown = await call('delegate_task_async', { goal: 'g', model: 'gpt-9' });
    expect(unknown.error?.message).toMatch(/allowed: slow, fail/);
    expect(session.list()).toEqual([]);
  });

  it('answers unknown and other sessions\u2019 task ids with not_found', async () => {
    const { sup, call } = setup();
    const theirs = sup.session('other').delegate({ goal: 'secret', model: 'slow' });
    for (const name of ['check_task', 'collect_task', 'cancel_task']) {
      for (const id of [theirs, 'nope']) {
        expect((await call(name, { task_id: id })).error?.code).toBe('not_found');
      }
    }
    expect((await call('steer_task', { task_id: theirs, message: 'hi' })).error?.code).toBe('not_found');
  });

  it('check_task shows the last N lines and the total; empty output is ""', async () => {
    const { call } = setup(
      scripted([{ toolCalls: [{ name: 'flood', arguments: { lines: 30 } }] }, { text: 'done' }]),
    );
    const empty = await call('delegate_task_async', { goal: 'slow', model: 'slow' });
    const quiet = await call('check_task', { task_id: empty.task_id });
    expect(quiet).toMatchObject({ output_preview: '', output_lines: 0, dropped_lines: 0, iterations: 0 });
    expect(quiet.steering).toEqual({ sent: 0, delivered: 0 });
    const busy = await call('delegate_task_async', { goal: 'flood', toolsets: ['faults'] });
    await call('collect_task', { task_id: busy.task_id });
    const peek = await call('check_task', { task_id: busy.task_id, preview_lines: 3 });
    expect(peek.output_preview).toBe('line 29\n← flood: emitted 30\ndone');
    expect(peek.output_lines).toBe(33);
    expect(peek.result).toBe('done');
    expect((await call('check_task', { task_id: busy.task_id, preview_lines: 201 })).error?.code).toBe(
      'invalid_input',
    );
  });

  it('collect_task with timeout_seconds 0 on a running task times out and leaves it running', async () => {
    const { call } = setup();
    const task = await call('delegate_task_async', { goal: 'slow', model: 'slow' });
    const reply = await call('collect_task', { task_id: task.task_id, timeout_seconds: 0 });
    expect(reply.timed_out).toBe(true);
    expect(['queued', 'running']).toContain(reply.status);
    expect(reply.result).toBeNull();
    expect(['queued', 'running']).toContain((await call('check_task', { task_id: task.task_id })).status);
  });

  it('caps collect_task waits at the host limit', async () => {
    const sup = supervisor({ model: scripted([{ text: 'slow', delayMs: 60_000 }]) });
    const tools = createDelegationTools(sup.session('s'), { maxCollectSeconds: 0.2 });
    const task = JSON.parse(await handleToolCall(tools, 'delegate_task_async', { goal: 'g' }));
    const reply = JSON.parse(
      await handleToolCall(tools, 'collect_task', { task_id: task.task_id, timeout_seconds: 3600 }),
    );
    expect(reply.timed_out).toBe(true);
  });

  it('steer_task reaches the sub-agent; finished tasks refuse it with task_finished', async () => {
    const { call, sup, session } = setup(
      probe([{ toolCalls: [{ name: 'spin', arguments: { ms: 400 } }] }, { text: '$conversation' }]),
    );
    const task = await call('delegate_task_async', { goal: 'work', toolsets: ['echo'] });
    await lineMatching(session, task.task_id as string, /^→ spin/);
    const receipt = await call('steer_task', { task_id: task.task_id, message: 'also check the docs' });
    expect(receipt).toEqual({ ok: true, task_id: task.task_id, seq: 1, delivery: 'queued' });
    const done = await call('collect_task', { task_id: task.task_id });
    expect(done.result).toContain(`${STEERING_PREFIX} also check the docs`);
    expect((await call('check_task', { task_id: task.task_id })).steering).toEqual({ sent: 1, delivered: 1 });

    const failed = await call('delegate_task_async', { goal: 'fail', model: 'fail', toolsets: ['faults'] });
    await call('collect_task', { task_id: failed.task_id });
    const cancelled = await call('delegate_task_async', { goal: 'slow', model: 'slow' });
    await call('cancel_task', { task_id: cancelled.task_id });
    for (const [id, status] of [
      [task.task_id, 'completed'],
      [failed.task_id, 'failed'],
      [cancelled.task_id, 'cancelled'],
    ]) {
      const reply = await call('steer_task', { task_id: id, message: 'late' });
      expect(reply).toEqual({
        error: { code: 'task_finished', message: expect.stringContaining(status as string) },
        task_id: id,
        status,
      });
    }
    void sup;
  });

  it('cancel_task ends a running task with its end time; a late result does not overwrite it', async () => {
    const { call, session } = setup(
      probe([
        { toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] },
        { text: 'late answer', spinMs: 300 },
      ]),
    );
    const task = await call('delegate_task_async', { goal: 'g', toolsets: ['echo'] });
    const other = await call('delegate_task_async', { goal: 'slow', model: 'slow' });
    await lineMatching(session, task.task_id as string, /^← echo/);
    const reply = await call('cancel_task', { task_id: task.task_id, reason: 'changed my mind' });
    expect(reply).toEqual({ ok: true, task_id: task.task_id, status: 'cancelled', result: 'late answer' });
    const after = session.check(task.task_id as string);
    expect(after.status).toBe('cancelled');
    expect(after.endedAt).toBeDefined();
    expect(['queued', 'running']).toContain((await call('check_task', { task_id: other.task_id })).status);
    const again = await call('cancel_task', { task_id: task.task_id });
    expect(again.error?.code).toBe('task_finished');
    expect(again.status).toBe('cancelled');
  });

  it('list_tasks shows this session\u2019s tasks, mixed statuses, truncated goals, counts', async () => {
    const { call, sup } = setup();
    const long = `${'x'.repeat(150)} end`;
    const done = await call('delegate_task_async', { goal: long });
    await call('collect_task', { task_id: done.task_id });
    const slow = await call('delegate_task_async', { goal: 'slow', model: 'slow' });
    const cancelled = await call('delegate_task_async', { goal: 'to cancel', model: 'slow' });
    await call('cancel_task', { task_id: cancelled.task_id });
    sup.session('other').delegate({ goal: 'not yours' });
    const all = await call('list_tasks', {});
    const tasks = all.tasks as Array<Record<string, unknown>>;
    expect(tasks.map((task) => task.task_id)).toEqual([done.task_id, slow.task_id, cancelled.task_id]);
    expect(tasks[0]!.goal).toBe('x'.repeat(100));
    expect(Object.keys(tasks[0]!).sort()).toEqual([
      'elapsed_seconds',
      'goal',
      'output_lines',
      'status',
      'task_id',
    ]);
    expect(all.counts).toMatchObject({ completed: 1, cancelled: 1, total: 3 });
    const onlyCancelled = await call('list_tasks', { status: 'cancelled' });
    expect((onlyCancelled.tasks as unknown[]).length).toBe(1);
    expect((await call('list_tasks', { status: 'weird' })).error?.code).toBe('invalid_input');
  });

  it('cuts lines over 500 characters and keeps only the last 200', async () => {
    const { call } = setup(
      scripted([
        { toolCalls: [{ name: 'echo', arguments: { text: 'w'.repeat(900) } }] },
        { toolCalls: [{ name: 'flood', arguments: { lines: 250 } }] },
        { text: 'done' },
      ]),
    );
    const task = await call('delegate_task_async', { goal: 'g', toolsets: ['echo', 'faults'] });
    const done = await call('collect_task', { task_id: task.task_id });
    const lines = (done.output as string).split('\n');
    expect(lines).toHaveLength(200);
    expect(done.output_lines).toBe(256);
    expect(done.dropped_lines).toBe(56);
    const peek = await call('check_task', { task_id: task.task_id, preview_lines: 200 });
    expect((peek.output_preview as string).split('\n').every((line) => line.length <= 500)).toBe(true);
  });

  it('handleToolCall turns unknown tools and bad JSON into errors', async () => {
    const { tools } = setup();
    expect(JSON.parse(await handleToolCall(tools, 'rm_rf', {})).error.code).toBe('invalid_input');
    expect(JSON.parse(await handleToolCall(tools, 'check_task', '{oops')).error.code).toBe('invalid_input');
    expect(JSON.parse(await handleToolCall(tools, 'list_tasks', '')).tasks).toEqual([]);
    expect(JSON.parse(await handleToolCall(tools, 'list_tasks', { extra: 1 })).error.message).toMatch(
      /extra/,
    );
    const huge = JSON.stringify({ goal: 'x'.repeat(MAX_ARGUMENT_CHARS) });
    const refused = JSON.parse(await handleToolCall(tools, 'delegate_task_async', huge));
    expect(refused.error.code).toBe('invalid_input');
    expect(refused.error.message).toContain(String(MAX_ARGUMENT_CHARS));
  });

  it('reports shutting_down after close and limit_exceeded past the session cap', async () => {
    const { call, sup } = setup(undefined, { limits: { maxTasksPerSession: 1 } });
    await call('delegate_task_async', { goal: 'slow', model: 'slow' });
    expect((await call('delegate_task_async', { goal: 'more' })).error?.code).toBe('limit_exceeded');
    await sup.close({ graceMs: 100 });
    expect((await call('delegate_task_async', { goal: 'after' })).error?.code).toBe('shutting_down');
  });
});
