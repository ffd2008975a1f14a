import { ERROR_CODES, type ErrorCode, type TaskOutcome } from '@errand/worker/protocol';
import type { TaskEnd } from '../../task-end.js';

const STATUSES = new Set(['completed', 'failed', 'cancelled', 'timed_out']);
const CODES = new Set<string>(ERROR_CODES);

/** The worker's outcome, checked: it crossed a thread, and a malformed one must not corrupt the task. */
export function endFromOutcome(raw: unknown): TaskEnd {
  const outcome = raw as Partial<TaskOutcome> | null;
  if (!outcome || typeof outcome !== 'object' || !STATUSES.has(outcome.status as string)) {
    return {
      status: 'failed',
      exitReason: 'crashed',
      error: { code: 'worker_crashed', message: 'worker returned a malformed outcome' },
    };
  }
  const end: TaskEnd = { status: outcome.status!, exitReason: outcome.exitReason ?? 'error' };
  if (typeof outcome.result === 'string') end.result = outcome.result;
  if (outcome.error) {
    const code = CODES.has(outcome.error.code) ? outcome.error.code : 'worker_crashed';
    end.error = { code: code as ErrorCode, message: String(outcome.error.message) };
  }
  if (typeof outcome.iterations === 'number') end.iterations = outcome.iterations;
  if (outcome.usage) end.usage = outcome.usage;
  return end;
}

/**
 * A rejected Piscina task: the worker exited, threw outside the loop, ran out of memory, or was terminated.
 * `fatal` is the reason the worker gave before ending its own thread, when it did.
 */
export function endFromCrash(error: unknown, fatal?: string): TaskEnd {
  if (fatal !== undefined) {
    return {
      status: 'failed',
      exitReason: 'crashed',
      error: { code: 'worker_crashed', message: `worker crashed: ${fatal}` },
    };
  }
  const detail = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' && !detail.includes(code) ? `${code}: ${detail}` : detail;
  return {
    status: 'failed',
    exitReason: 'crashed',
    error: { code: 'worker_crashed', message: `worker crashed: ${reason}` },
  };
}
