import type { Redactor, SpanRecord } from '@errand/worker';
import type { Attributes, Context, Span, SpanKind, Tracer } from '@opentelemetry/api';
import type { TaskRecord } from '../task-store.js';
import { type ModelAttributes, modelAttributes } from './model-attributes.js';
import { type OtelApi, otelApi } from './otel-api.js';

/** The instrumentation scope of every span errand makes. */
export const TRACER_NAME = '@errand/core';

/** Span names. Model and tool spans follow the GenAI conventions: `{operation} {model or tool}`. */
export const SPAN_NAMES = {
  task: 'errand.task',
  iteration: 'errand.iteration',
  model: (model: string) => `chat ${model}`,
  tool: (tool: string) => `execute_tool ${tool}`,
} as const;

/** Statuses that end a task's span with an error status. */
const FAILED = new Set(['failed', 'timed_out', 'cancelled', 'interrupted']);

interface Scope {
  span: Span;
  /** The context whose active span is `span`: where its children start. */
  context: Context;
  /** When `span` started (epoch ms): a child never starts before it. */
  start: number;
}

interface TaskTrace extends Scope {
  /** The latest end of any step so far: the task's span never ends before it. */
  latest: number;
  /** Iterations the worker opened and has not closed yet, by number. */
  iterations: Map<number, Scope>;
  model: ModelAttributes;
}

/**
 * OpenTelemetry spans for tasks, made on the host's main thread. A tracer provider registered here is not
 * visible inside worker threads, so the workers only time their steps (iterations, model calls, tool calls)
 * and send the times with their output batches (`Progress.spans`); this class turns them into spans with
 * those start and end times, under the task's span, so a trace nests task → iteration → model / tool.
 *
 * A task's span starts when it is delegated, as a child of the caller's active context (or of its parent
 * orchestrator's span), and ends with the task, with an error status unless it completed. Steering and stops
 * are events on it. When no SDK is registered the API's no-op tracer hands back non-recording spans: nothing
 * is kept for such a task and its worker's timings are dropped on arrival.
 */
export class TaskTracing {
  readonly #api: typeof OtelApi;
  readonly #tracer: Tracer;
  readonly #redactor: Redactor;
  /** Spans of unfinished tasks that are being recorded, by task id. */
  readonly #traces = new Map<string, TaskTrace>();

  /** A `TaskTracing` when `@opentelemetry/api` is installed; `undefined` (and no cost) otherwise. */
  static open(redactor: Redactor): TaskTracing | undefined {
    const api = otelApi();
    return api ? new TaskTracing(api, redactor) : undefined;
  }

  private constructor(api: typeof OtelApi, redactor: Redactor) {
    this.#api = api;
    // The API's proxy tracer: it follows a provider registered later, so this can be taken once.
    this.#tracer = api.trace.getTracer(TRACER_NAME);
    this.#redactor = redactor;
  }

  /** Starts the task's span, under its parent task's span or else the caller's active context. */
  admitted(record: TaskRecord): void {
    const parent = record.parentId === undefined ? undefined : this.#traces.get(record.parentId);
    const context = parent?.context ?? this.#api.context.active();
    const model = modelAttributes(record.goal.model);
    const attributes: Attributes = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'errand',
      'gen_ai.agent.id': record.id,
      ...model,
      'errand.task.id': record.id,
      'errand.session.id': record.sessionId,
      'errand.task.depth': record.depth,
      'errand.task.role': record.goal.role,
      'errand.task.max_iterations': record.goal.maxIterations,
    };
    if (record.parentId !== undefined) attributes['errand.task.parent_id'] = record.parentId;
    if (record.resumedFrom !== undefined) attributes['errand.task.resumed_from'] = record.resumedFrom;
    if (record.goal.modelName !== undefined) attributes['errand.model.profile'] = record.goal.modelName;
    const start = clock();
    const span = this.#tracer.startSpan(
      SPAN_NAMES.task,
      { kind: this.#api.SpanKind.INTERNAL, startTime: start, attributes },
      context,
    );
    if (!span.isRecording()) return;
    this.#traces.set(record.id, {
      span,
      context: this.#api.trace.setSpan(context, span),
      start,
      latest: start,
      iterations: new Map(),
      model,
    });
  }

  /** Adds an event (`task-start`, `steer`, `steer-delivered`, `cancel`, `timeout`) to the task's span. */
  event(taskId: string, name: string, attributes?: Attributes): void {
    this.#traces.get(taskId)?.span.addEvent(name, attributes);
  }

  /** Turns the worker's timed steps into spans, in the order it took them. */
  steps(taskId: string, records: readonly SpanRecord[]): void {
    const trace = this.#traces.get(taskId);
    if (!trace) return;
    for (const record of records) {
      if (record.kind !== 'iteration') trace.latest = Math.max(trace.latest, record.end);
      switch (record.kind) {
        case 'iteration':
          trace.iterations.get(record.iteration)?.span.end(record.start);
          trace.iterations.set(
            record.iteration,
            this.#child(trace, SPAN_NAMES.iteration, record.start, { 'errand.iteration': record.iteration }),
          );
          break;
        case 'iteration-end':
          trace.iterations.get(record.iteration)?.span.end(record.end);
          trace.iterations.delete(record.iteration);
          break;
        case 'model': {
          const attributes: Attributes = {
            'gen_ai.operation.name': 'chat',
            ...trace.model,
            'errand.iteration': record.iteration,
          };
          if (record.usage) {
            attributes['gen_ai.usage.input_tokens'] = record.usage.inputTokens;
            attributes['gen_ai.usage.output_tokens'] = record.usage.outputTokens;
          }
          if (record.toolCalls !== undefined) {
            attributes['gen_ai.response.finish_reasons'] = [record.toolCalls > 0 ? 'tool_calls' : 'stop'];
          }
          const name = SPAN_NAMES.model(trace.model['gen_ai.request.model']);
          this.#step(trace, record, name, attributes, this.#api.SpanKind.CLIENT);
          break;
        }
        case 'tool':
          this.#step(
            trace,
            record,
            SPAN_NAMES.tool(record.name),
            {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': record.name,
              'gen_ai.tool.call.id': record.callId,
              'errand.iteration': record.iteration,
            },
            this.#api.SpanKind.INTERNAL,
          );
          break;
      }
    }
  }

  /** Ends the task's span (and any iteration its worker left open) with how the task ended. */
  ended(record: TaskRecord): void {
    const trace = this.#traces.get(record.id);
    if (!trace) return;
    this.#traces.delete(record.id);
    const at = Math.max(clock(), trace.latest);
    for (const open of trace.iterations.values()) open.span.end(at);
    const attributes: Attributes = {
      'errand.task.status': record.status,
      'errand.task.iterations': record.iterations,
      'errand.steering.sent': record.steering.sent,
      'errand.steering.delivered': record.steering.delivered,
    };
    if (record.exitReason !== undefined) attributes['errand.task.exit_reason'] = record.exitReason;
    if (record.usage) {
      attributes['gen_ai.usage.input_tokens'] = record.usage.inputTokens;
      attributes['gen_ai.usage.output_tokens'] = record.usage.outputTokens;
    }
    if (record.error) attributes['error.type'] = record.error.code;
    trace.span.setAttributes(attributes);
    if (FAILED.has(record.status)) {
      trace.span.setStatus({
        code: this.#api.SpanStatusCode.ERROR,
        message: record.error?.message ?? record.status,
      });
    }
    trace.span.end(at);
  }

  #child(parent: Scope, name: string, startTime: number, attributes: Attributes, kind?: SpanKind): Scope {
    // Worker and host read the same clock, but never let rounding put a child before its parent.
    const start = Math.max(startTime, parent.start);
    const span = this.#tracer.startSpan(
      name,
      { kind: kind ?? this.#api.SpanKind.INTERNAL, startTime: start, attributes },
      parent.context,
    );
    return { span, context: this.#api.trace.setSpan(parent.context, span), start };
  }

  #step(
    trace: TaskTrace,
    record: Extract<SpanRecord, { kind: 'model' | 'tool' }>,
    name: string,
    attributes: Attributes,
    kind: SpanKind,
  ): void {
    const parent = trace.iterations.get(record.iteration) ?? trace;
    const { span } = this.#child(parent, name, record.start, attributes, kind);
    if (record.error !== undefined) {
      const message = this.#redactor.redact(record.error);
      span.setAttribute('error.type', /^(\w+):/.exec(message)?.[1] ?? 'error');
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message });
    }
    span.end(Math.max(record.end, parent.start));
  }
}

/** Now, in epoch milliseconds with fractions: the clock the workers' step times use (see `step-timing.ts`). */
function clock(): number {
  return performance.timeOrigin + performance.now();
}
