import { describeError, LoopError } from './errors.js';
import type { SpanRecord } from './protocol.js';
import { redact } from './redact.js';

/** Longest step error a span record carries: the task's own error holds the full text. */
const MAX_STEP_ERROR_CHARS = 500;

/**
 * Now, in milliseconds since the epoch with fractions. `performance.now()` counts from each thread's own start,
 * so it is offset by the thread's `timeOrigin`: the host can then place worker steps on its own timeline.
 */
export function spanClock(): number {
  return performance.timeOrigin + performance.now();
}

/** How a step ended, for its span: a code for a stop, else the (redacted, cut) message. */
export function stepError(error: unknown): string {
  const text = error instanceof LoopError ? `${error.code}: ${error.message}` : describeError(error);
  const safe = redact(text);
  return safe.length > MAX_STEP_ERROR_CHARS ? `${safe.slice(0, MAX_STEP_ERROR_CHARS)}…` : safe;
}

/**
 * Runs one step of the loop and reports its timing, also when it throws (the error rethrown as it was).
 * `record` builds the span record from the times and, on success, the step's value.
 */
export async function timed<T>(
  run: () => Promise<T>,
  report: (record: SpanRecord) => void,
  record: (times: { start: number; end: number }, value: T | undefined, error?: string) => SpanRecord,
): Promise<T> {
  const start = spanClock();
  let value: T;
  try {
    value = await run();
  } catch (error) {
    report(record({ start, end: spanClock() }, undefined, stepError(error)));
    throw error;
  }
  report(record({ start, end: spanClock() }, value));
  return value;
}
