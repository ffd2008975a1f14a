import type { ErrorCode, WireError } from './protocol.js';

/**
 * The worker-side way to stop a loop with a known code. It never crosses a thread: the task entry turns it
 * into a {@link WireError} in the task outcome.
 */
export class LoopError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown by checkpoints once the parent asked the task to stop. */
export class StopRequested extends LoopError {}

/** A message for any thrown value, without assuming it is an Error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

export function toWireError(code: ErrorCode, error: unknown, prefix?: string): WireError {
  const message = describeError(error);
  return {
    code,
    name: error instanceof Error ? error.name : 'Error',
    message: prefix ? `${prefix}: ${message}` : message,
  };
}
