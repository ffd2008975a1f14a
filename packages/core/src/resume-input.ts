import type { ValidGoal } from './delegate-input.js';
import { describeValue, InvalidInputError } from './errors.js';
import type { Limits } from './options.js';
import { isTerminal } from './task-state.js';
import type { Checkpoint, TaskRecord } from './task-store.js';

/** What `resume` may change for the new run. */
export interface ResumeInput {
  maxIterations?: number;
  timeoutMs?: number;
}

/**
 * The goal a resumed task runs with: the original one, with `maxIterations` and `timeoutMs` overridden if
 * given. Throws `InvalidInputError` saying why a task cannot be resumed: it is still unfinished, it completed,
 * it has no checkpoint, or `maxIterations` (which counts the checkpointed iterations too) leaves no room.
 */
export function resumedGoal(
  record: TaskRecord,
  live: boolean,
  checkpoint: Checkpoint | undefined,
  options: ResumeInput,
  limits: Limits,
): ValidGoal {
  if (live || !isTerminal(record.status)) {
    throw new InvalidInputError(
      'taskId',
      record.id,
      `names task ${record.id}, which is still ${record.status}; cancel it first`,
    );
  }
  if (record.status === 'completed') {
    throw new InvalidInputError(
      'taskId',
      record.id,
      `names task ${record.id}, which completed: there is nothing to resume`,
    );
  }
  if (!checkpoint) {
    const why = record.iterations === 0 ? 'the task never ran' : 'the task never completed an iteration';
    throw new InvalidInputError(
      'taskId',
      record.id,
      `has no checkpoint: ${why}`,
      `task ${record.id} cannot be resumed: no checkpoint: ${why}`,
    );
  }
  const goal = { ...record.goal };
  if (options.maxIterations !== undefined)
    goal.maxIterations = integerIn('maxIterations', options.maxIterations, limits.maxIterations);
  if (goal.maxIterations <= checkpoint.iterations) {
    throw new InvalidInputError(
      'maxIterations',
      goal.maxIterations,
      `must be more than the ${checkpoint.iterations} iterations task ${record.id} already ran (it counts them all), got ${goal.maxIterations}`,
    );
  }
  if (options.timeoutMs !== undefined)
    goal.timeoutMs = integerIn('timeoutMs', options.timeoutMs, limits.maxTimeoutMs);
  return goal;
}

function integerIn(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidInputError(
      field,
      value,
      `must be an integer from 1 to ${max}, got ${describeValue(value)}`,
    );
  }
  return value;
}
