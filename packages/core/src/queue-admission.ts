import { LimitExceededError } from './errors.js';

/**
 * How many waiting tasks may queue behind an earlier waiting task of their own session: half of `maxQueued`
 * (rounded down). The other half is kept for sessions' first waiting tasks, one per session. Without this,
 * sessions that each stay under `maxTasksPerSession` (63 × 16 with the defaults) could fill the whole queue,
 * and every other session's first `delegate` would be refused until they drained.
 */
export function backlogLimit(maxQueued: number): number {
  return Math.floor(maxQueued / 2);
}

/**
 * Throws `LimitExceededError('maxQueued')` unless `sessionId` may put one more task in line. `queued` counts
 * every task not yet started (in line, or handed to a thread that has not begun it); `waiting` is the line.
 * A session with nothing in line is refused only when the whole queue is full, which takes at least
 * `maxQueued - backlogLimit(maxQueued)` tasks that are each some session's first (less the few handed to a
 * thread), so at least that many sessions, minus `maxThreads`, waiting at once.
 */
export function assertQueueRoom(
  queued: number,
  waiting: { readonly backlog: number; sizeOf(key: string): number },
  sessionId: string,
  maxQueued: number,
): void {
  if (queued >= maxQueued) {
    throw new LimitExceededError(
      'maxQueued',
      maxQueued,
      `${queued} tasks are already waiting for a thread (limit maxQueued = ${maxQueued})`,
    );
  }
  const inLine = waiting.sizeOf(sessionId);
  const limit = backlogLimit(maxQueued);
  if (inLine > 0 && waiting.backlog >= limit) {
    throw new LimitExceededError(
      'maxQueued',
      maxQueued,
      `${waiting.backlog} tasks already wait behind an earlier task of their own session (this one has ${inLine} in line); at most ${limit}, half of maxQueued = ${maxQueued}, may, so the rest stays free for other sessions' first tasks`,
    );
  }
}
