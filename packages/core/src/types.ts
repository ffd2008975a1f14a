import type { Usage } from '@errand/worker';
import type { ErrorCode, ExitReason } from './codes.js';
import type { TaskStatus } from './task-state.js';

/** What `delegate` takes. */
export interface DelegateInput {
  /** What the sub-agent must achieve. Not blank; at most `limits.maxGoalChars`. */
  goal: string;
  /** Background the sub-agent needs (files, constraints, what was tried). */
  context?: string;
  /** A model profile name from the supervisor's `models`. @default the supervisor's `model` */
  model?: string;
  /** Toolsets from the supervisor's allow-list. @default every toolset the supervisor allows */
  toolsets?: string[];
  /** Model turns before the task fails with `max_iterations`. @default limits.defaultMaxIterations */
  maxIterations?: number;
  /** Run time before the task ends `timed_out`, counted from when it starts. @default limits.defaultTimeoutMs */
  timeoutMs?: number;
  /**
   * `orchestrator` gives the agent the delegation operations as tools (its children run one level deeper,
   * within `limits.maxDepth`). @default 'worker' (a leaf: it never sees delegation tools)
   */
  role?: 'orchestrator' | 'worker';
  /** Host data carried on the task's snapshots (JSON-serialisable, at most `limits.maxMetadataChars`). */
  metadata?: Record<string, unknown>;
}

/** A task's state at one moment. Times are epoch milliseconds. */
export interface TaskSnapshot {
  id: string;
  sessionId: string;
  status: TaskStatus;
  goal: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  /** From `createdAt` to `endedAt`, or to now while unfinished. */
  elapsedMs: number;
  /** Model turns so far. */
  iterations: number;
  /** The last output lines (see `previewLines`), oldest first. */
  preview: string[];
  /** Output lines ever written, kept or not. */
  outputLines: number;
  /** Output lines no longer kept (only the last `limits.outputLines` are). */
  droppedLines: number;
  /** Steering messages sent, and delivered into the agent's conversation. */
  steering: { sent: number; delivered: number };
  /** The final answer, or the partial one at cancel, timeout or failure. */
  result?: string;
  error?: { code: ErrorCode; message: string };
  exitReason?: ExitReason;
  usage?: Usage;
  metadata?: Record<string, unknown>;
  /** The task this one was resumed from (`session.resume`). */
  resumedFrom?: string;
  /** Set by `collect` when its timeout passed before the task ended; the task is left running. */
  timedOut?: boolean;
}

/** One row of `list`. */
export interface TaskSummary {
  id: string;
  status: TaskStatus;
  goal: string;
  createdAt: number;
  elapsedMs: number;
  iterations: number;
  outputLines: number;
}

/** One output line, from `stream`. `index` counts from the task's first line. */
export interface OutputLine {
  index: number;
  text: string;
}

/** The answer to `steer`. Delivery is acknowledged later (`steering.delivered`, `steer-delivered`). */
export interface SteerReceipt {
  taskId: string;
  seq: number;
  status: 'queued';
}

/** One status transition of a task (the `task-status` event). */
export interface TaskStatusChange {
  taskId: string;
  sessionId: string;
  from: TaskStatus;
  to: TaskStatus;
  /** Epoch milliseconds. */
  at: number;
}

/** Events the supervisor emits. */
export interface SupervisorEvents {
  'task-start': [snapshot: TaskSnapshot];
  'task-output': [event: { taskId: string; sessionId: string; lines: number }];
  'task-end': [snapshot: TaskSnapshot];
  'steer-delivered': [event: { taskId: string; sessionId: string; seq: number }];
  /** Every status change, with its time. */
  'task-status': [event: TaskStatusChange];
  /**
   * A durable store could not save some writes (disk full, file removed). Tasks go on and reach their
   * terminal state in memory; `message` says what was not saved.
   */
  'store-error': [event: { error: Error; message: string }];
  /** A worker failed outside any task (e.g. it threw in a timer after its task returned). */
  'worker-error': [error: Error];
  /**
   * A listener of another event threw. The task's bookkeeping completes regardless; without an 'error'
   * listener the error is thrown (uncaught), as EventEmitter does.
   */
  error: [error: unknown];
}
