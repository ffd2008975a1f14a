/**
 * Every status a task can have, defined once, here, on the host side. Workers report how their run ended
 * (`completed`, `failed`, ...); statuses only the host decides need no change to the worker's protocol:
 * `interrupted` is a task found `queued` or `running` in a store whose process died.
 */
export const TASK_STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
  'interrupted',
] as const;

/** Where a task is in its life. Terminal states are final. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The statuses a task ends in. */
export type TerminalStatus = Exclude<TaskStatus, 'queued' | 'running'>;

/** Everything that can happen to a task. */
export type TaskEvent =
  | { type: 'start' }
  | { type: 'finish'; status: TerminalStatus }
  | { type: 'stop-request'; reason: 'cancel' | 'timeout' };

/** The part of a task's state the transitions decide. */
export interface TaskState {
  status: TaskStatus;
  /** Set once a stop was asked for: the task will end in this status, whatever its worker reports. */
  stopping?: 'cancelled' | 'timed_out';
}

/** True for a status a task never leaves. */
export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return status !== 'queued' && status !== 'running';
}

/**
 * The task state machine, pure so it can be checked exhaustively. A terminal state never changes; the first
 * stop request wins (a cancel racing a timeout keeps whichever came first); a stopping task ends in its stop
 * status even when its worker reports a result that was already on its way ("a late result never overwrites
 * a cancel").
 */
export function transition(state: TaskState, event: TaskEvent): TaskState {
  if (isTerminal(state.status)) return state;
  switch (event.type) {
    case 'start':
      return state.status === 'queued' ? { ...state, status: 'running' } : state;
    case 'stop-request':
      if (state.stopping) return state;
      return { ...state, stopping: event.reason === 'timeout' ? 'timed_out' : 'cancelled' };
    case 'finish':
      return {
        status: state.stopping ?? event.status,
        ...(state.stopping ? { stopping: state.stopping } : {}),
      };
  }
}
