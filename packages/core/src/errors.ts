import type { ErrorCode } from './codes.js';

const MARKER = Symbol.for('errand.error');

/** Shortens a value for an error message: what was given, recognisable, never huge. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = 'a function';
  else if (value === undefined || value === null || typeof value !== 'object') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
    if (text.length > 80) text = `${text.slice(0, 80)}…`;
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${text} (${type})`;
}

/**
 * The one base class for errand errors. `code` is stable and is what the LLM tools report; `name` is the
 * subclass name; each subclass carries its own typed fields (the offending field and value, the limit, the
 * task's status). `details` holds the same fields as a plain object, for logging.
 */
export class ErrandError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  /** A marker that survives copies of this package, for `isInstance`. */
  readonly [MARKER]: string;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details ?? {};
    this[MARKER] = new.target.name;
  }

  /** True for any errand error, also one thrown by another copy of this package. */
  static isInstance(error: unknown): error is ErrandError {
    return hasMarker(error) !== undefined;
  }

  /** The `{code, message}` pair that snapshots and tools carry. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

function hasMarker(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as never)[MARKER] === 'string'
    ? ((error as never)[MARKER] as string)
    : undefined;
}

/** The caller passed something invalid: `field` names it, `value` is what came. */
export class InvalidInputError extends ErrandError {
  readonly field: string;
  readonly value: unknown;

  /**
   * `reason` follows the field's name and says what was expected (`must be an integer ≥ 1, got 0.5
   * (number)`); `message` replaces the whole message where the field cannot lead it.
   */
  constructor(field: string, value: unknown, reason: string, message = `${field} ${reason}`) {
    super('invalid_input', message, { details: { field } });
    this.field = field;
    this.value = value;
  }

  static override isInstance(error: unknown): error is InvalidInputError {
    return hasMarker(error) === 'InvalidInputError';
  }
}

/** No such task in this session (unknown, evicted, or another session's: the same answer by design). */
export class NotFoundError extends ErrandError {
  readonly taskId: string;

  constructor(taskId: string) {
    super('not_found', `no task ${JSON.stringify(taskId.slice(0, 80))} in this session`, {
      details: { taskId },
    });
    this.taskId = taskId;
  }

  static override isInstance(error: unknown): error is NotFoundError {
    return hasMarker(error) === 'NotFoundError';
  }
}

/** A configured limit would be passed: `limit` names it (`maxQueued`, ...) and `max` is its value. */
export class LimitExceededError extends ErrandError {
  readonly limit: string;
  readonly max: number;

  constructor(limit: string, max: number, message: string) {
    super('limit_exceeded', message, { details: { limit, max } });
    this.limit = limit;
    this.max = max;
  }

  static override isInstance(error: unknown): error is LimitExceededError {
    return hasMarker(error) === 'LimitExceededError';
  }
}

/** The task already ended (or is ending); `status` says how. */
export class TaskFinishedError extends ErrandError {
  readonly taskId: string;
  readonly status: string;

  constructor(taskId: string, status: string) {
    super('task_finished', `task ${taskId} is already ${status}`, { details: { taskId, status } });
    this.taskId = taskId;
    this.status = status;
  }

  static override isInstance(error: unknown): error is TaskFinishedError {
    return hasMarker(error) === 'TaskFinishedError';
  }
}

/** `close()` was called: no new work is accepted. */
export class ShuttingDownError extends ErrandError {
  constructor() {
    super('shutting_down', 'the supervisor is shutting down and accepts no new tasks');
  }

  static override isInstance(error: unknown): error is ShuttingDownError {
    return hasMarker(error) === 'ShuttingDownError';
  }
}

/**
 * The task store's file is held by another live store, in this process (`holder: 'this-process'`) or in
 * another one (`holder: 'another-process'`): one supervisor per file. The holder's lock is released by its
 * `close()` or by the end of its process.
 */
export class StoreLockedError extends ErrandError {
  readonly path: string;
  readonly holder: 'this-process' | 'another-process';

  constructor(path: string, holder: 'this-process' | 'another-process', options?: { cause?: unknown }) {
    const where = holder === 'this-process' ? 'a store open in this process' : 'another process';
    super(
      'store_locked',
      `the task store ${JSON.stringify(path)} is locked by ${where}; one supervisor per file: close that one or use another path`,
      { cause: options?.cause, details: { path, holder } },
    );
    this.path = path;
    this.holder = holder;
  }

  static override isInstance(error: unknown): error is StoreLockedError {
    return hasMarker(error) === 'StoreLockedError';
  }
}

/**
 * The executor's backend cannot be reached (the bullmq executor's Redis): `endpoint` names what was tried, without
 * its password. Thrown by `new Supervisor` or `delegate`; a task that was waiting when it happened ends `failed`
 * with the same message.
 */
export class UnavailableError extends ErrandError {
  readonly endpoint: string;

  constructor(endpoint: string, reason: string, options?: { cause?: unknown }) {
    super('unavailable', `cannot reach ${endpoint}: ${reason}`, {
      cause: options?.cause,
      details: { endpoint, reason },
    });
    this.endpoint = endpoint;
  }

  static override isInstance(error: unknown): error is UnavailableError {
    return hasMarker(error) === 'UnavailableError';
  }
}
