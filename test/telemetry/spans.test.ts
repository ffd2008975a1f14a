import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, nextEvent, scripted, supervisor } from '../helpers.js';
import { installTracing, named, parentOf } from './otel.js';

let tracing: ReturnType<typeof installTracing> | undefined;

beforeEach(() => {
  tracing = installTracing();
});
afterEach(async () => {
  await closeAll();
  await tracing?.uninstall();
  tracing = undefined;
});

const one = (spans: readonly ReadableSpan[], name: string | RegExp): ReadableSpan => {
  const found = named(spans, name);
  expect(found.map((span) => span.name)).toHaveLength(1);
  return found[0]!;
};
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const millis = ([seconds, nanos]: [number, number]) => seconds * 1e3 + nanos / 1e6;

describe('OpenTelemetry spans', () => {
  it('nest task → iteration → model / tool under the caller’s active span, with GenAI attributes', async () => {
    const sup = supervisor({
      model: scripted([
        {
          toolCalls: [{ name: 'echo', arguments: { text: 'ping' } }],
          usage: { inputTokens: 11, outputTokens: 4 },
        },
        { text: 'done', usage: { inputTokens: 20, outputTokens: 2 } },
      ]),
    });
    const session = sup.session('traced');
    const tracer = trace.getTracer('host-app');
    const { id, host } = tracer.startActiveSpan('host request', (span) => {
      const delegated = session.delegate({ goal: 'echo ping', toolsets: ['echo'] });
      span.end();
      return { id: delegated, host: span };
    });
    const done = await session.collect(id);
    expect(done.status).toBe('completed');

    const spans = tracing!.spans();
    const task = one(spans, 'errand.task');
    expect(parentOf(task)).toBe(host.spanContext().spanId);
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(
      new Set([host.spanContext().traceId]),
    );
    expect(task.attributes).toMatchObject({
      'errand.task.id': id,
      'errand.session.id': 'traced',
      'errand.task.status': 'completed',
      'errand.task.exit_reason': 'completed',
      'errand.task.iterations': 2,
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 6,
    });
    expect(task.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(task.events.map((event) => event.name)).toEqual(['task-start']);

    const iterations = named(spans, 'errand.iteration').sort(
      (a, b) => Number(a.attributes['errand.iteration']) - Number(b.attributes['errand.iteration']),
    );
    expect(iterations.map((span) => span.attributes['errand.iteration'])).toEqual([1, 2]);
    for (const iteration of iterations) expect(parentOf(iteration)).toBe(idOf(task));

    const models = named(spans, 'chat scripted');
    expect(models).toHaveLength(2);
    for (const [index, model] of models
      .sort((a, b) => Number(a.attributes['errand.iteration']) - Number(b.attributes['errand.iteration']))
      .entries()) {
      expect(parentOf(model)).toBe(idOf(iterations[index]!));
      expect(model.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'scripted',
        'gen_ai.provider.name': 'errand.scripted',
      });
    }
    expect(models.map((span) => span.attributes['gen_ai.usage.input_tokens'])).toEqual([11, 20]);
    expect(models.map((span) => span.attributes['gen_ai.usage.output_tokens'])).toEqual([4, 2]);
    expect(models.map((span) => span.attributes['gen_ai.response.finish_reasons'])).toEqual([
      ['tool_calls'],
      ['stop'],
    ]);

    const tool = one(spans, 'execute_tool echo');
    expect(parentOf(tool)).toBe(idOf(iterations[0]!));
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'echo',
      'gen_ai.tool.call.id': 'call_0_0',
    });

    // Worker times land on the host's timeline: each step inside its iteration, each iteration inside the task.
    const within = (inner: ReadableSpan, outer: ReadableSpan) => {
      expect(millis(inner.startTime)).toBeGreaterThanOrEqual(millis(outer.startTime));
      expect(millis(inner.endTime)).toBeLessThanOrEqual(millis(outer.endTime));
    };
    for (const iteration of iterations) within(iteration, task);
    within(tool, iterations[0]!);
    expect(millis(tool.startTime)).toBeGreaterThanOrEqual(millis(models[0]!.endTime));
  });

  it('records steering and cancel as events and ends a cancelled task’s span with an error', async () => {
    const sup = supervisor({ model: scripted([{ text: 'never', delayMs: 60_000 }]) });
    const session = sup.session('steered');
    const id = session.delegate({ goal: 'wait', toolsets: [] });
    session.steer(id, 'look at the tests first');
    await nextEvent(sup, 'steer-delivered', (event) => event.taskId === id);
    const cancelled = await session.cancel(id, { reason: 'not needed' });
    expect(cancelled.status).toBe('cancelled');

    const spans = tracing!.spans();
    const task = one(spans, 'errand.task');
    expect(task.events.map((event) => event.name)).toEqual([
      'steer',
      'task-start',
      'steer-delivered',
      'cancel',
    ]);
    expect(task.events[0]!.attributes).toEqual({ 'errand.steer.seq': 1 });
    expect(task.status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(task.attributes).toMatchObject({
      'errand.task.status': 'cancelled',
      'errand.task.exit_reason': 'cancelled',
      'errand.steering.sent': 1,
      'errand.steering.delivered': 1,
      'error.type': 'cancelled',
    });
    // The model call the cancel interrupted is a failed step inside a closed iteration.
    const iteration = one(spans, 'errand.iteration');
    const model = one(spans, 'chat scripted');
    expect(parentOf(model)).toBe(idOf(iteration));
    expect(model.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('marks a failed task’s span and the failing step as errors', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'only one', toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] }]),
    });
    const session = sup.session('failing');
    const done = await session.collect(session.delegate({ goal: 'run out', toolsets: ['echo'] }));
    expect(done.status).toBe('failed');
    const spans = tracing!.spans();
    const task = one(spans, 'errand.task');
    expect(task.status.code).toBe(SpanStatusCode.ERROR);
    expect(task.attributes['error.type']).toBe('model_error');
    const failedModel = named(spans, 'chat scripted').find(
      (span) => span.status.code === SpanStatusCode.ERROR,
    );
    expect(failedModel?.status.message).toMatch(/ran out of turns/);
    expect(failedModel?.attributes['error.type']).toBe('model_error');
  });

  it('puts a child task’s span under its orchestrator’s span', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'child result' }]),
      models: {
        orchestrator: {
          provider: 'module',
          specifier: fixture('bridge-orchestrator-model.mjs'),
          options: { mode: 'orchestrate', child: { goal: 'do the sub-goal' } },
        },
      },
    });
    const session = sup.session('nest');
    const id = session.delegate({ goal: 'plan', model: 'orchestrator', role: 'orchestrator', toolsets: [] });
    expect((await session.collect(id)).status).toBe('completed');
    const tasks = named(tracing!.spans(), 'errand.task');
    const parent = tasks.find((span) => span.attributes['errand.task.id'] === id)!;
    const child = tasks.find((span) => span.attributes['errand.task.parent_id'] === id)!;
    expect(parentOf(child)).toBe(idOf(parent));
    expect(parentOf(parent)).toBeUndefined();
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(named(tracing!.spans(), 'execute_tool delegate_task_async')).toHaveLength(1);
  });

  it('names the model of an ai-sdk spec on the model spans', async () => {
    const sup = supervisor({
      model: {
        provider: 'ai-sdk',
        module: fixture('ai-sdk-mock-provider.mjs'),
        factory: 'createMockProvider',
        model: 'mock-model',
        options: { turns: [{ text: ['hi'], usage: [5, 2] }] },
      },
    });
    const session = sup.session('ai-sdk');
    expect((await session.collect(session.delegate({ goal: 'hi', toolsets: [] }))).status).toBe('completed');
    const model = one(tracing!.spans(), 'chat mock-model');
    expect(model.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'mock-model',
      'gen_ai.provider.name': 'mockProvider',
      'gen_ai.usage.input_tokens': 5,
      'gen_ai.usage.output_tokens': 2,
    });
  });

  it('keeps nothing for a task delegated while no SDK was registered', async () => {
    await tracing!.uninstall();
    const sup = supervisor({
      model: scripted([{ text: 'late', delayMs: 60_000 }]),
      models: { quick: scripted([{ text: 'traced' }]) },
    });
    const session = sup.session('untraced');
    const untraced = session.delegate({ goal: 'no sdk yet', toolsets: [] });
    await nextEvent(sup, 'task-start', (snapshot) => snapshot.id === untraced);
    tracing = installTracing();
    await session.cancel(untraced);
    expect(tracing.spans()).toEqual([]);
    const traced = await session.collect(session.delegate({ goal: 'sdk now', model: 'quick', toolsets: [] }));
    expect(named(tracing.spans(), 'errand.task').map((span) => span.attributes['errand.task.id'])).toEqual([
      traced.id,
    ]);
  });
});
