import type { ErrorCode, TerminalStatus, WireError } from '@errand/worker';

/**
 * The one base class for errand errors. `code` is stable and is what the LLM tools report; `name` is the
 * subclass name; `details` holds structured fields (the offending field, the limit, the task status).
 */
export class ErrandError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details ?? {};
  }

  /** True for any errand error, also across copies of this package. */
  static isInstance(error: unknown): error is ErrandError {
    return (
      error instanceof ErrandError ||
      (error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'details' in error)
    );
  }

  /** The `{code, message}` pair that snapshots and tools carry. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The caller passed something invalid. `details.field` names it. */
export class InvalidInputError extends ErrandError {
  constructor(field: string, message: string) {
    super('invalid_input', `${field}: ${message}`, { details: { field } });
  }
  get field(): string {
    return this.details.field as string;
  }
}

/** No such task in this session (unknown, evicted, or another session's: the same answer by design). */
export class NotFoundError extends ErrandError {
  constructor(taskId: string) {
    super('not_found', `no task ${JSON.stringify(taskId.slice(0, 80))} in this session`, {
      details: { taskId },
    });
  }
}

/** A configured limit would be passed. `details.limit` names it. */
export class LimitExceededError extends ErrandError {
  constructor(limit: string, value: number, message: string) {
    super('limit_exceeded', message, { details: { limit, value } });
  }
}

/** The task already ended (or is ending); `details.status` says how. */
export class TaskFinishedError extends ErrandError {
  constructor(taskId: string, status: string) {
    super('task_finished', `task ${taskId} is already ${status}`, { details: { taskId, status } });
  }
}

/** `close()` was called: no new work is accepted. */
export class ShuttingDownError extends ErrandError {
  constructor() {
    super('shutting_down', 'the supervisor is shutting down and accepts no new tasks');
  }
}

/** The worker thread died under the task (exit, uncaught exception, out of memory). */
export class WorkerCrashedError extends ErrandError {}

/** `collect` did not see the task end within its timeout (collect reports this as `timedOut`, not a throw). */
export class TimeoutError extends ErrandError {}

/** Rebuilds a worker's error data as a plain `{code, message}` for snapshots. */
export function publicError(error: WireError | { code: ErrorCode; message: string }): {
  code: ErrorCode;
  message: string;
} {
  return { code: error.code, message: error.message };
}

/** Terminal statuses, for `TaskFinishedError` and state checks. */
export const TERMINAL: ReadonlySet<string> = new Set<TerminalStatus>([
  'completed',
  'failed',
  'cancelled',
  'timed_out',
]);
