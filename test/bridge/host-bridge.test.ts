import { defineHostTool } from '@errand/core';
import { createDelegationTools } from '@errand/tools';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeAll, fixture, lineMatching, probe, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const orchestratorModel = (options: Record<string, unknown>) => ({
  provider: 'module' as const,
  specifier: fixture('bridge-orchestrator-model.mjs'),
  options,
});

describe('host tools', () => {
  it('run on the main thread with the task context; bad arguments go back to the model', async () => {
    const seen: Array<{ taskId: string; sessionId: string; thread: boolean }> = [];
    const { isMainThread } = await import('node:worker_threads');
    const sup = supervisor({
      model: probe([
        { toolCalls: [{ name: 'lookup_user', arguments: { id: 'u7' } }] },
        { toolCalls: [{ name: 'lookup_user', arguments: { id: 42 } }] },
        { text: '$conversation' },
      ]),
      hostTools: {
        lookup_user: defineHostTool({
          description: 'Look a user up in the host database.',
          input: z.object({ id: z.string() }),
          run: ({ id }, ctx) => {
            seen.push({ taskId: ctx.taskId, sessionId: ctx.sessionId, thread: isMainThread });
            return { id, name: 'Ada' };
          },
        }),
      },
    });
    const session = sup.session('host');
    const id = session.delegate({ goal: 'who is u7?', toolsets: ['host'] });
    const done = await session.collect(id);
    expect(done.status).toBe('completed');
    expect(done.result).toContain('tool: {"id":"u7","name":"Ada"}');
    expect(done.result).toMatch(/tool: \{"error":".*invalid arguments: id:/);
    expect(seen).toEqual([{ taskId: id, sessionId: 'host', thread: true }]);
  });

  it('are offered only to goals that allow the host toolset', async () => {
    const sup = supervisor({
      model: orchestratorModel({ mode: 'tools' }),
      hostTools: { ping: defineHostTool({ description: 'p', input: z.object({}), run: () => 'pong' }) },
    });
    const session = sup.session('s');
    expect((await session.collect(session.delegate({ goal: 'g' }))).result).toContain('ping');
    expect((await session.collect(session.delegate({ goal: 'g', toolsets: ['echo'] }))).result).toBe(
      'echo,spin',
    );
  });

  it('a pending host call is aborted when its task ends, even if the worker is terminated', async () => {
    let signal: AbortSignal | undefined;
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const sup = supervisor({
      model: scripted([{ text: 'waiting on the host', toolCalls: [{ name: 'slow_lookup' }] }]),
      limits: { cancelGraceMs: 0 },
      hostTools: {
        slow_lookup: defineHostTool({
          description: 'Never answers.',
          input: z.object({}),
          run: (_args, ctx) => {
            signal = ctx.signal;
            markStarted();
            return new Promise(() => {});
          },
        }),
      },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['host'] });
    await started;
    const snapshot = await session.cancel(id);
    expect(snapshot).toMatchObject({ status: 'cancelled', result: 'waiting on the host' });
    expect(signal?.aborted).toBe(true);
    expect(String(signal?.reason)).toContain(`task ${id} ended cancelled`);
  });
});

describe('host model', () => {
  it('runs model turns on the host, so credentials never enter the worker', async () => {
    const calls: string[] = [];
    const sup = supervisor({
      model: { provider: 'host', name: 'local' },
      hostModels: {
        local: async ({ messages, taskId }) => {
          calls.push(taskId);
          return { text: `host model saw: ${messages.at(-1)?.content}` };
        },
      },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'hello from the goal', toolsets: [] });
    expect((await session.collect(id)).result).toBe('host model saw: hello from the goal');
    expect(calls).toEqual([id]);
    expect(() => supervisor({ model: { provider: 'host', name: 'missing' } })).toThrow(
      /no host model named "missing"/,
    );
  });
});

describe('nested delegation', () => {
  it('an orchestrator delegates a child in the same session and collects it', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'child result' }]),
      models: {
        orchestrator: orchestratorModel({ mode: 'orchestrate', child: { goal: 'do the sub-goal' } }),
      },
    });
    const session = sup.session('nest');
    const id = session.delegate({ goal: 'plan', model: 'orchestrator', role: 'orchestrator', toolsets: [] });
    const done = await session.collect(id);
    expect(done.status).toBe('completed');
    expect(done.result).toMatch(/^child said: \{"task_id":"[^"]+","status":"completed"/);
    // The same reply an LLM's collect_task gets (@errand/tools), not a shape of its own.
    const reply = JSON.parse(done.result!.slice('child said: '.length)) as Record<string, unknown>;
    expect(Object.keys(reply)).toEqual([
      'task_id',
      'status',
      'timed_out',
      'elapsed_seconds',
      'result',
      'output',
      'output_lines',
      'dropped_lines',
      'exit_reason',
    ]);
    expect(reply).toMatchObject({ result: 'child result', timed_out: false, output: 'child result' });
    const child = session.list().find((task) => task.goal === 'do the sub-goal');
    expect(child?.status).toBe('completed');
  });

  it('a leaf never sees the delegation tools, and depth is enforced centrally', async () => {
    const sup = supervisor({
      model: orchestratorModel({ mode: 'tools' }),
      models: {
        orchestrator: orchestratorModel({
          mode: 'orchestrate',
          child: { goal: 'deeper', role: 'orchestrator' },
        }),
      },
    });
    const session = sup.session('depth');
    expect((await session.collect(session.delegate({ goal: 'leaf', toolsets: [] }))).result).toBe('');
    const tools = (await session.collect(session.delegate({ goal: 'o', role: 'orchestrator', toolsets: [] })))
      .result;
    expect(tools?.split(',').sort()).toEqual([
      'cancel_task',
      'check_task',
      'collect_task',
      'delegate_task_async',
      'list_tasks',
      'steer_task',
    ]);
    // maxDepth 1: the orchestrator's child may not be an orchestrator itself.
    const refused = await session.collect(
      session.delegate({ goal: 'o', model: 'orchestrator', role: 'orchestrator', toolsets: [] }),
    );
    // Refusals reach the model as the tools' error reply, with the engine's code.
    expect(refused.result).toMatch(
      /^refused: \{"error":\{"code":"invalid_input","message":"role cannot be orchestrator: a task at depth 1 cannot delegate/,
    );
    const none = supervisor({ model: scripted([{ text: 'x' }]), limits: { maxDepth: 0 } });
    expect(() => none.session('s').delegate({ goal: 'o', role: 'orchestrator' })).toThrow(
      /role cannot be orchestrator/,
    );
  });

  it('an orchestrator is offered the LLM tools: same names, arguments and descriptions', async () => {
    const sup = supervisor({ model: orchestratorModel({ mode: 'schemas' }) });
    const session = sup.session('schemas');
    const offered = JSON.parse(
      (await session.collect(session.delegate({ goal: 'o', role: 'orchestrator', toolsets: [] }))).result!,
    ) as Array<{
      name: string;
      description: string;
      parameters: { properties: object; required?: string[] };
    }>;
    const llm = createDelegationTools(session, { limits: sup.limits });
    expect(offered.map((tool) => tool.name)).toEqual(llm.map((tool) => tool.name));
    for (const [index, tool] of offered.entries()) {
      const twin = llm[index]!;
      expect(tool.description, tool.name).toBe(twin.description);
      expect(Object.keys(tool.parameters.properties), tool.name).toEqual(
        Object.keys(twin.parameters.properties as object),
      );
    }
    // Optional arguments are optional for the orchestrator's model (the all-required form is for OpenAI strict);
    // delegate_task_async needs a goal or a resume_task_id, so neither is required by the schema alone.
    expect(offered[0]!.parameters.required ?? []).toEqual([]);
    expect(Object.keys(offered[0]!.parameters.properties)).toEqual(
      expect.arrayContaining(['goal', 'resume_task_id']),
    );
  });

  it('cancelling a parent cancels its descendants', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'slow child', delayMs: 60_000 }]),
      models: {
        orchestrator: orchestratorModel({
          mode: 'orchestrate',
          child: { goal: 'long sub-goal' },
          collectSeconds: 50,
        }),
      },
      limits: { hostCallTimeoutMs: 120_000 },
    });
    const session = sup.session('cascade');
    const parent = session.delegate({
      goal: 'plan',
      model: 'orchestrator',
      role: 'orchestrator',
      toolsets: [],
    });
    await lineMatching(session, parent, /^→ collect_task/);
    const child = session.list().find((task) => task.goal === 'long sub-goal')!;
    expect(['queued', 'running']).toContain(child.status);
    expect((await session.cancel(parent)).status).toBe('cancelled');
    expect((await session.collect(child.id)).status).toBe('cancelled');
    expect(session.check(child.id).error?.message).toContain(`parent task ${parent} was stopped`);
  });
});
