import type { SteerMessage, TaskEnd, TaskRun, ValidGoal } from '@errand/core/seams';
import type { OutputChunk, Progress } from '@errand/worker/protocol';

/**
 * The wire between supervisors and `errand worker` processes, defined once and imported by both sides. Jobs go
 * through BullMQ; what a run reports comes back on the feed stream; steer, stop and kill go out on the control
 * channel (and steering also into a list, for a worker that has not taken the task yet).
 */

/**
 * A goal as it travels: names only. The worker that takes it resolves the toolsets and model profile from its
 * own config, so no module path, URL or key crosses Redis.
 */
export interface JobGoal extends Omit<ValidGoal, 'model' | 'toolsets'> {
  toolsets: string[];
}

/** One BullMQ job: one run of a task. */
export interface JobData {
  v: 1;
  taskId: string;
  sessionId: string;
  depth: number;
  goal: JobGoal;
  steering: SteerMessage[];
  /** Iterations of the checkpoint this run starts from; its conversation is read from Redis. */
  checkpointIterations?: number;
  /** How long a stopping run may take before its thread is terminated. */
  cancelGraceMs: number;
}

/** What a worker reports on the feed stream about a run. */
export type FeedEvent =
  | { t: 'start'; id: string }
  | { t: 'output'; id: string; chunks: OutputChunk[]; progress?: Progress }
  | { t: 'checkpoint'; id: string; iterations: number }
  | { t: 'settle'; id: string; end: TaskEnd };

/** What a supervisor asks of whichever worker runs a task. */
export type ControlMessage =
  | { op: 'steer'; id: string; seq: number; text: string }
  | { op: 'stop'; id: string; reason: 'cancel' | 'timeout' }
  | { op: 'kill'; id: string };

/** The job for a run, without the supervisor's model spec or toolset modules. */
export function jobFor(run: TaskRun, cancelGraceMs: number): JobData {
  const { model: _model, toolsets, ...goal } = run.goal;
  const data: JobData = {
    v: 1,
    taskId: run.taskId,
    sessionId: run.sessionId,
    depth: run.depth,
    goal: { ...goal, toolsets: Object.keys(toolsets) },
    steering: run.steering,
    cancelGraceMs,
  };
  if (run.checkpoint) data.checkpointIterations = run.checkpoint.iterations;
  return data;
}
