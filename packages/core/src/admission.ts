import { InvalidInputError, LimitExceededError } from './errors.js';
import type { Limits } from './options.js';
import type { TaskRecord, TaskRecordPatch } from './task-store.js';

/**
 * Throws unless a task may be admitted: its depth within `limits.maxDepth` (an orchestrator needs room for its
 * children) and its session under `limits.maxTasksPerSession` unfinished tasks. The queue's own bound is
 * `assertQueueRoom`.
 */
export function assertAdmission(
  limits: Limits,
  task: { depth: number; role: 'orchestrator' | 'worker'; unfinished: number },
): void {
  const { depth, role, unfinished } = task;
  if (depth > limits.maxDepth) {
    throw new LimitExceededError(
      'maxDepth',
      limits.maxDepth,
      `delegation may nest ${limits.maxDepth} level(s) deep; this would be ${depth}`,
    );
  }
  if (role === 'orchestrator' && depth >= limits.maxDepth) {
    throw new InvalidInputError(
      'role',
      role,
      `cannot be orchestrator: a task at depth ${depth} cannot delegate (limits.maxDepth = ${limits.maxDepth})`,
    );
  }
  if (unfinished >= limits.maxTasksPerSession) {
    throw new LimitExceededError(
      'maxTasksPerSession',
      limits.maxTasksPerSession,
      `session already has ${unfinished} unfinished tasks (limit maxTasksPerSession = ${limits.maxTasksPerSession}); collect or cancel some first`,
    );
  }
}

/**
 * How a record a dead process left `queued` or `running` ends: `interrupted`, keeping its checkpoint,
 * iterations and output tail, so `resume` can go on from it.
 */
export function interruptedPatch(record: TaskRecord, at: number): TaskRecordPatch {
  return {
    status: 'interrupted',
    exitReason: 'interrupted',
    error: {
      code: 'interrupted',
      message: `the process running this task stopped before it finished (it was ${record.status})`,
    },
    endedAt: at,
    transitions: [...record.transitions, { status: 'interrupted', at }],
  };
}
