import type { Checkpoint, SteerMessage, TaskEnd, TaskRun, TaskStatus } from '@errand/core/seams';
import { isTerminal } from '@errand/core/seams';
import type { Link } from '../link.js';
import type { JobData } from '../wire.js';
import { resolveJobGoal } from './goal-check.js';
import type { ResolvedOptions } from './types.js';

/**
 * How a job starts on this worker, read from Redis in one round trip: the record's state (a task cancelled or
 * ended meanwhile is not run), a stop asked for before a worker had it, the goal resolved against this
 * worker's config (`invalid_input` otherwise), the checkpoint to start from (the task's own after a worker
 * died, or the one a resumed task names), and the steering sent meanwhile. A task that had started and has no
 * checkpoint ends `interrupted` unless a draining worker handed it back.
 */
export async function runStart(
  link: Link,
  data: JobData,
  options: ResolvedOptions,
  state: { seen: Set<number>; stopped: () => boolean },
): Promise<{ end: TaskEnd } | { run: TaskRun }> {
  const { client, keys } = link;
  const id = data.taskId;
  const [status, resumedFrom, steeringField, stop, handback, own, steers] = (await client
    .pipeline()
    .hget(keys.task(id), 'status')
    .hget(keys.task(id), 'resumedFrom')
    .hget(keys.task(id), 'steering')
    .get(keys.stop(id))
    .get(keys.handback(id))
    .get(keys.checkpoint(id))
    .lrange(keys.steer(id), 0, -1)
    .exec()
    .then((replies) => (replies ?? []).map(([, value]) => value))) as [
    string | null,
    string | null,
    string | null,
    string | null,
    string | null,
    string | null,
    string[],
  ];
  // A hand-back lets one later run start afresh, not every one after it.
  if (handback !== null) client.del(keys.handback(id)).catch(() => {});
  if (status === null) return { end: { status: 'cancelled', exitReason: 'cancelled' } };
  const current = JSON.parse(status) as TaskStatus;
  if (isTerminal(current)) return { end: { status: current, exitReason: 'cancelled' } };
  if (stop !== null || state.stopped()) {
    return {
      end: {
        status: 'cancelled',
        exitReason: 'cancelled',
        error: { code: 'cancelled', message: 'cancelled before it started' },
      },
    };
  }
  const resolved = resolveJobGoal(data.goal, options);
  if ('refused' in resolved) {
    return {
      end: {
        status: 'failed',
        exitReason: 'error',
        error: { code: 'invalid_input', message: resolved.refused },
      },
    };
  }
  let checkpoint: Checkpoint | undefined = own ? (JSON.parse(own) as Checkpoint) : undefined;
  if (!checkpoint && data.checkpointIterations !== undefined && resumedFrom) {
    const from = await client.get(keys.checkpoint(JSON.parse(resumedFrom) as string));
    if (from) checkpoint = JSON.parse(from) as Checkpoint;
  }
  if (!checkpoint && current === 'running' && handback === null) {
    return {
      end: {
        status: 'interrupted',
        exitReason: 'interrupted',
        error: {
          code: 'interrupted',
          message: 'the worker running this task stopped before its first checkpoint',
        },
      },
    };
  }
  const delivered = steeringField ? (JSON.parse(steeringField) as { delivered: number }).delivered : 0;
  const steering = [...data.steering, ...steers.map((raw) => JSON.parse(raw) as SteerMessage)].filter(
    (message) => {
      if (message.seq <= delivered || state.seen.has(message.seq)) return false;
      state.seen.add(message.seq);
      return true;
    },
  );
  const run: TaskRun = {
    taskId: id,
    sessionId: data.sessionId,
    goal: resolved.goal,
    depth: data.depth,
    steering,
  };
  if (checkpoint) run.checkpoint = checkpoint;
  return { run };
}

/** A stopped run ends in its stop status, whatever its loop reported (as on one machine). */
export function stoppedEnd(end: TaskEnd, reason: 'cancel' | 'timeout'): TaskEnd {
  const timedOut = reason === 'timeout';
  const stopped: TaskEnd = {
    ...end,
    status: timedOut ? 'timed_out' : 'cancelled',
    exitReason: timedOut ? 'timeout' : 'cancelled',
    error: {
      code: timedOut ? 'timeout' : 'cancelled',
      message: timedOut ? 'task ran past its timeout' : 'cancelled',
    },
  };
  return stopped;
}
