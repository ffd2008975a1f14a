import type { ErrorCode, WireError } from './protocol.js';
import { redact } from './redact.js';

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

/**
 * Throw this from a tool to tell the model its call was refused or went wrong (a bad path, a missing file):
 * the message goes back to the model as the tool's result and the task carries on. Any other error thrown by
 * a tool is a fault and fails the task with `tool_error`.
 */
export class ToolError extends Error {
  /** Recognised by this flag too, since a toolset may load its own copy of this module. */
  readonly isToolError = true;
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/** True for a {@link ToolError}, from any copy of this module. */
export function isToolError(error: unknown): error is Error {
  return error instanceof Error && (error as { isToolError?: unknown }).isToolError === true;
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
  const message = redact(describeError(error));
  return {
    code,
    name: error instanceof Error ? error.name : 'Error',
    message: prefix ? `${prefix}: ${message}` : message,
  };
}
