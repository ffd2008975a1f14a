import { InvalidInputError, isTerminal, type TaskSnapshot } from '@errand/core';

/** Options for {@link completionNotice}. */
export interface CompletionNoticeOptions {
  /** `text` for a user or system message; `json` for hosts that parse it. @default 'text' */
  format?: 'text' | 'json';
  /** Most characters of the goal shown. @default 200 */
  goalChars?: number;
  /** Most characters of the result shown; the rest is one `collect_task` away. @default 2000 */
  resultChars?: number;
}

/** A text cut to `max` characters, saying how much was left out. */
function cut(text: string, max: number): { text: string; omitted: number } {
  if (text.length <= max) return { text, omitted: 0 };
  return { text: `${text.slice(0, max)}…`, omitted: text.length - max };
}

/**
 * The message a host inserts into its model's conversation when a delegated task ends, like Claude Code's
 * task notifications: the task id, how it ended, its goal and result (both cut), the error, and what to do
 * next (`collect_task` for the full result and output). Feed it `session.completions()`.
 *
 * @example
 * for await (const snapshot of session.completions()) {
 *   messages.push({ role: 'user', content: completionNotice(snapshot) });
 * }
 */
export function completionNotice(snapshot: TaskSnapshot, options: CompletionNoticeOptions = {}): string {
  if (!isTerminal(snapshot.status)) {
    throw new InvalidInputError(
      'snapshot',
      snapshot.status,
      `must be a finished task's snapshot, got one that is ${snapshot.status}`,
    );
  }
  const goal = cut(snapshot.goal, options.goalChars ?? 200);
  const result =
    snapshot.result === undefined ? undefined : cut(snapshot.result, options.resultChars ?? 2000);
  const next =
    snapshot.status === 'completed'
      ? `Call collect_task with task_id "${snapshot.id}" for the full result and output.`
      : `Call collect_task with task_id "${snapshot.id}" for its partial result and output; delegate again if the goal still matters.`;
  if (options.format === 'json') {
    return JSON.stringify({
      type: 'task_notification',
      task_id: snapshot.id,
      status: snapshot.status,
      goal: goal.text,
      result: result?.text ?? null,
      result_omitted_chars: result?.omitted ?? 0,
      ...(snapshot.error === undefined ? {} : { error: snapshot.error }),
      next,
    });
  }
  const lines = [
    `<task-notification>`,
    `Background task ${snapshot.id} ${snapshot.status.replace('_', ' ')}.`,
    `Goal: ${goal.text}`,
  ];
  if (snapshot.error) lines.push(`Error (${snapshot.error.code}): ${snapshot.error.message}`);
  if (result) {
    const label = snapshot.status === 'completed' ? 'Result' : 'Partial result';
    lines.push(`${label}: ${result.text}`);
    if (result.omitted > 0) lines.push(`(${result.omitted} more characters of the result not shown.)`);
  } else lines.push('Result: none.');
  lines.push(`Next: ${next}`, `</task-notification>`);
  return lines.join('\n');
}
