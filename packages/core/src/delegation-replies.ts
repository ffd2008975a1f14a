import type { z } from 'zod';
import type { replySchemas } from './delegation-schemas.js';
import {
  ErrandError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  TaskFinishedError,
} from './errors.js';
import type { DelegateInput, TaskSnapshot, TaskSummary } from './types.js';

/**
 * The error reply every tool uses: `{"error": {"code", "message"}}`. A `task_finished` reply also names the
 * task and its final `status` beside the error, so a model can tell a completed task (collect it) from a
 * cancelled or failed one without parsing the message.
 */
export function errorReply(code: string, message: string, task?: { taskId: string; status: string }): string {
  const error = { code, message };
  return JSON.stringify(task ? { error, task_id: task.taskId, status: task.status } : { error });
}

/**
 * The engine's names for `delegate` and `check` inputs, and the tools' names for the same things. The one
 * place the two vocabularies meet: arguments go one way ({@link delegateInput}), error fields the other.
 */
const TOOL_FIELDS: Readonly<Record<string, string>> = {
  maxIterations: 'max_iterations',
  timeoutMs: 'timeout_seconds',
  previewLines: 'preview_lines',
};

/** The tool's name for an engine field (`maxIterations` → `max_iterations`). */
export function toolField(field: string): string {
  return Object.hasOwn(TOOL_FIELDS, field) ? (TOOL_FIELDS[field] as string) : snake(field);
}

/** `maxPendingSteers` → `max_pending_steers`. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The engine's input for `delegate_task_async` arguments (`null` means not given). */
export function delegateInput(args: {
  goal: string;
  context?: string | null | undefined;
  toolsets?: string[] | null | undefined;
  model?: string | null | undefined;
  role?: 'worker' | 'orchestrator' | null | undefined;
  max_iterations?: number | null | undefined;
  timeout_seconds?: number | null | undefined;
}): DelegateInput {
  return {
    goal: args.goal,
    ...(args.context == null ? {} : { context: args.context }),
    ...(args.toolsets == null ? {} : { toolsets: args.toolsets }),
    ...(args.model == null ? {} : { model: args.model }),
    ...(args.role == null ? {} : { role: args.role }),
    ...(args.max_iterations == null ? {} : { maxIterations: args.max_iterations }),
    ...(args.timeout_seconds == null ? {} : { timeoutMs: Math.round(args.timeout_seconds * 1000) }),
  };
}

/** What each limit means to the model, and what it can do about it. */
function limitMessage(limit: string, max: number): string {
  switch (limit) {
    case 'maxTasksPerSession':
      return `this session already has ${max} unfinished tasks, the most allowed; collect or cancel some first`;
    case 'maxQueued':
      return `${max} tasks are already waiting for a thread, the most allowed; try again once some have started`;
    case 'maxPendingSteers':
      return `${max} steering messages are still waiting for the sub-agent's next step, the most allowed; wait for steering.delivered to rise`;
    case 'maxDepth':
      return `delegation may nest at most ${max} level(s) deep`;
    default:
      return `the limit ${snake(limit)} (${max}) is reached`;
  }
}

/**
 * Turns anything thrown into an error reply with the engine's code; unexpected errors never escape. Messages
 * are built from the errors' typed fields, in the tools' vocabulary (snake_case fields, seconds), never by
 * editing the engine's message text.
 */
export function replyForError(error: unknown): string {
  if (TaskFinishedError.isInstance(error)) {
    const { taskId, status } = error;
    return errorReply('task_finished', `task ${taskId} is already ${status}`, { taskId, status });
  }
  if (NotFoundError.isInstance(error)) {
    return errorReply('not_found', `no task ${JSON.stringify(error.taskId.slice(0, 80))} in this session`);
  }
  if (LimitExceededError.isInstance(error)) {
    return errorReply('limit_exceeded', limitMessage(error.limit, error.max));
  }
  if (InvalidInputError.isInstance(error)) {
    const field = toolField(error.field);
    // Fields the tools name as the engine does (goal, context, model, toolsets, role, message) carry the
    // engine's own sentence, which already starts with that name. A renamed one is out of the bounds this host
    // gave the tools (their schema checks the bounds they were told), so say which argument it was and what
    // the engine said.
    if (field === error.field) return errorReply('invalid_input', error.message);
    const value =
      error.field === 'timeoutMs' && typeof error.value === 'number' ? error.value / 1000 : error.value;
    return errorReply(
      'invalid_input',
      `${field} ${typeof value === 'number' ? value : JSON.stringify(value)} is refused by this host (${error.message})`,
    );
  }
  if (ErrandError.isInstance(error)) return errorReply(error.code, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return errorReply('tool_error', `unexpected failure: ${message}`);
}

/** Unknown argument names named in a reply, at most; each is cut to {@link MAX_NAME_CHARS}. */
const MAX_NAMED_KEYS = 5;
const MAX_NAME_CHARS = 64;

/** An `invalid_input` reply naming the first bad field. It stays small whatever the model sent. */
export function replyForIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return errorReply('invalid_input', 'invalid arguments');
  const field = issue.path.map(String).join('.') || 'arguments';
  if (issue.code === 'unrecognized_keys') {
    return errorReply('invalid_input', `${field}: unknown argument(s): ${nameSome(issue.keys)}`);
  }
  // Our own messages (see `bounded` in delegation-schemas.ts) already start with the field's name.
  const message = issue.message.startsWith(`${field} `) ? issue.message : `${field}: ${issue.message}`;
  return errorReply('invalid_input', message);
}

/** `a, b, c, d, e and 199995 more`, each name cut to 64 characters. */
function nameSome(names: readonly string[]): string {
  const shown = names
    .slice(0, MAX_NAMED_KEYS)
    .map((name) => (name.length > MAX_NAME_CHARS ? `${name.slice(0, MAX_NAME_CHARS)}…` : name));
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The `check_task` reply. */
export function checkReply(snapshot: TaskSnapshot): z.infer<typeof replySchemas.check> {
  return {
    task_id: snapshot.id,
    status: snapshot.status,
    goal: snapshot.goal,
    elapsed_seconds: seconds(snapshot.elapsedMs),
    iterations: snapshot.iterations,
    output_preview: snapshot.preview.join('\n'),
    output_lines: snapshot.outputLines,
    dropped_lines: snapshot.droppedLines,
    steering: { ...snapshot.steering },
    ...(snapshot.result === undefined ? {} : { result: snapshot.result }),
    ...(snapshot.error === undefined ? {} : { error: snapshot.error }),
  };
}

/** The `collect_task` reply (also the final result of a task-augmented MCP call). */
export function collectReply(snapshot: TaskSnapshot): z.infer<typeof replySchemas.collect> {
  return {
    task_id: snapshot.id,
    status: snapshot.status,
    timed_out: snapshot.timedOut === true,
    elapsed_seconds: seconds(snapshot.elapsedMs),
    result: snapshot.result ?? null,
    output: snapshot.preview.join('\n'),
    output_lines: snapshot.outputLines,
    dropped_lines: snapshot.droppedLines,
    ...(snapshot.exitReason === undefined ? {} : { exit_reason: snapshot.exitReason }),
    ...(snapshot.error === undefined ? {} : { error: snapshot.error }),
    ...(snapshot.usage === undefined
      ? {}
      : { usage: { input_tokens: snapshot.usage.inputTokens, output_tokens: snapshot.usage.outputTokens } }),
  };
}

/** One row of the `list_tasks` reply. */
export function summaryReply(summary: TaskSummary): z.infer<typeof replySchemas.list>['tasks'][number] {
  return {
    task_id: summary.id,
    goal: summary.goal.slice(0, 100),
    status: summary.status,
    elapsed_seconds: seconds(summary.elapsedMs),
    output_lines: summary.outputLines,
  };
}
