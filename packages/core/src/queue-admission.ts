import { LimitExceededError } from './errors.js';

/**
 * Room beyond `maxQueued` kept for sessions' first waiting tasks: a tenth of `maxQueued`, at least 1. Without
 * it, sessions that each stay under `maxTasksPerSession` (63 × 16 with the defaults) fill the whole queue, and
 * every other session's first `delegate` is refused until they drain. With it, one session can still queue up
 * to `maxQueued` on its own, and the queue never holds more than `maxQueued + firstTaskReserve(maxQueued)`.
 */
export function firstTaskReserve(maxQueued: number): number {
  return Math.max(1, Math.ceil(maxQueued / 10));
}

/**
 * Throws `LimitExceededError('maxQueued')` unless `sessionId` may put one more task in line. `queued` counts
 * every task not yet started (in line, or handed to the executor and not begun); `waiting` is the line. A task
 * that would be its session's only one in line may use the reserve above `maxQueued`; any other needs room
 * under `maxQueued`.
 */
export function assertQueueRoom(
  queued: number,
  waiting: { sizeOf(key: string): number },
  sessionId: string,
  maxQueued: number,
): void {
  if (queued < maxQueued) return;
  const reserve = firstTaskReserve(maxQueued);
  if (waiting.sizeOf(sessionId) === 0 && queued < maxQueued + reserve) return;
  throw new LimitExceededError(
    'maxQueued',
    maxQueued,
    `${queued} tasks are already waiting for a thread (limit maxQueued = ${maxQueued}; a session with nothing waiting may still queue one task while fewer than ${maxQueued + reserve} wait)`,
  );
}
