import type { z } from 'zod';
import type { DelegationTarget } from './delegation-ops.js';
import type { replySchemas } from './delegation-schemas.js';
import { InvalidInputError } from './errors.js';
import { isTerminal } from './task-state.js';

/** The arguments of `delegate_task_async` that a resume reads (`null` means not given). */
export interface ResumeArguments {
  resume_task_id: string;
  max_iterations?: number | null | undefined;
  timeout_seconds?: number | null | undefined;
}

/**
 * `delegate_task_async` with `resume_task_id`: starts a new task from a stopped one's last checkpoint and
 * replies `{ task_id, status, message, resumed_from }`. What cannot be resumed is `invalid_input` naming why (a
 * completed task, one still running, one without a checkpoint, a `max_iterations` the earlier iterations
 * already reach); another session's id is `not_found`, like an unknown one. Messages are in the tools'
 * vocabulary, built from the task's snapshot and the error's fields.
 */
export function resumeFromTool(
  target: DelegationTarget,
  args: ResumeArguments,
): z.infer<typeof replySchemas.delegate> {
  const id = args.resume_task_id;
  if (!target.resume) {
    throw new InvalidInputError('resume_task_id', id, 'cannot be used here: this host does not resume tasks');
  }
  // Unknown ids and other sessions' ids are not_found here, before anything else is said about them.
  const before = target.check(id, { previewLines: 0 });
  if (before.status === 'completed') {
    throw new InvalidInputError(
      'resume_task_id',
      id,
      `names task ${id}, which completed: there is nothing to resume (collect_task returns its result)`,
    );
  }
  if (!isTerminal(before.status)) {
    throw new InvalidInputError(
      'resume_task_id',
      id,
      `names task ${id}, which is still ${before.status}: collect_task waits for it, cancel_task stops it`,
    );
  }
  let taskId: string;
  try {
    taskId = target.resume(id, {
      ...(args.max_iterations == null ? {} : { maxIterations: args.max_iterations }),
      ...(args.timeout_seconds == null ? {} : { timeoutMs: Math.round(args.timeout_seconds * 1000) }),
    });
  } catch (error) {
    throw inToolTerms(error, id, before.iterations, args.max_iterations != null);
  }
  return {
    task_id: taskId,
    status: target.check(taskId, { previewLines: 0 }).status,
    message:
      `Resumed task ${id} from its last checkpoint as a new task (its ${before.iterations} earlier iterations ` +
      'count toward max_iterations). Keep working; call collect_task with this task_id and a timeout when you ' +
      'need the result.',
    resumed_from: id,
  };
}

/** The engine's refusals of a resume, said with the tool's argument names. Anything else passes through. */
function inToolTerms(error: unknown, id: string, iterations: number, maxGiven: boolean): unknown {
  if (!InvalidInputError.isInstance(error)) return error;
  if (error.field === 'taskId') {
    // Completed and unfinished tasks were answered above; what is left is a task without a checkpoint.
    const why = iterations === 0 ? 'the task never ran' : 'the task never completed an iteration';
    return new InvalidInputError('resume_task_id', id, `names task ${id}, which has no checkpoint: ${why}`);
  }
  if (error.field === 'maxIterations' && typeof error.value === 'number' && error.value <= iterations) {
    return maxGiven
      ? new InvalidInputError(
          'max_iterations',
          error.value,
          `must be more than the ${iterations} iterations task ${id} already ran (they count toward it), got ${error.value}`,
        )
      : new InvalidInputError(
          'max_iterations',
          error.value,
          `of task ${id} (${error.value}) is used up by its ${iterations} iterations; give max_iterations above ${iterations} to resume it`,
        );
  }
  return error;
}
