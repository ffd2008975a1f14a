import { ErrandError, type TaskSnapshot, type TaskSummary } from '@errand/core';
import type { z } from 'zod';

/**
 * The error reply every tool uses: `{"error": {"code", "message"}}`. A `task_finished` reply also names the
 * task and its final `status` beside the error, so a model can tell a completed task (collect it) from a
 * cancelled or failed one without parsing the message.
 */
export function errorReply(code: string, message: string, task?: { taskId: string; status: string }): string {
  const error = { code, message };
  return JSON.stringify(task ? { error, task_id: task.taskId, status: task.status } : { error });
}

/** Turns anything thrown into an error reply with the engine's code; unexpected errors never escape. */
export function replyForError(error: unknown): string {
  if (ErrandError.isInstance(error)) {
    const { field, taskId, status } = error.details as {
      field?: unknown;
      taskId?: unknown;
      status?: unknown;
    };
    // The engine names fields in camelCase; the tools speak snake_case.
    const message = typeof field === 'string' ? error.message.replace(field, snake(field)) : error.message;
    const task = typeof taskId === 'string' && typeof status === 'string' ? { taskId, status } : undefined;
    return errorReply(error.code, message, task);
  }
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
  // Our own messages (see `bounded` in schemas.ts) already start with the field's name.
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

export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function checkReply(snapshot: TaskSnapshot) {
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

export function collectReply(snapshot: TaskSnapshot) {
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

export function summaryReply(summary: TaskSummary) {
  return {
    task_id: summary.id,
    goal: summary.goal.slice(0, 100),
    status: summary.status,
    elapsed_seconds: seconds(summary.elapsedMs),
    output_lines: summary.outputLines,
  };
}
