import type { Usage } from '@errand/worker';
import type { OutputChunk } from '@errand/worker/protocol';
import type { ErrorCode, ExitReason } from './codes.js';
import type { ValidGoal } from './delegate-input.js';
import type { TaskStatus } from './task-state.js';

/** The output a finished task keeps: its last lines, oldest first, and where they start. */
export interface OutputTail {
  /** Index of `lines[0]` among every line the task wrote. */
  firstIndex: number;
  lines: string[];
}

/**
 * A task as it is kept: plain, serialisable data with one writer (the engine), so the same record can be
 * held in memory, saved to a file or sent over the network. Live handles (ports, timers, the output buffer of
 * a running task) are never in it.
 */
export interface TaskRecord {
  id: string;
  sessionId: string;
  status: TaskStatus;
  /** The validated goal, with defaults applied (model spec, toolsets, limits). */
  goal: ValidGoal;
  /** 0 for a goal the host delegated; the parent's depth + 1 for one an orchestrator delegated. */
  depth: number;
  parentId?: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  iterations: number;
  /** The model's latest text: the partial result if the task stops early. */
  lastText?: string;
  usage?: Usage;
  result?: string;
  error?: { code: ErrorCode; message: string };
  exitReason?: ExitReason;
  steering: { sent: number; delivered: number };
  /** Output lines ever written, and how many of them are no longer kept. */
  outputLines: number;
  droppedLines: number;
  /** Set when the task ends; while it runs, its output lives in the engine's ring buffer. */
  output?: OutputTail;
  /** Every status the task has had, with when it got it (epoch ms), oldest first. */
  transitions: Array<{ status: TaskStatus; at: number }>;
  /** The task this one resumed, if it was started by `resume`. */
  resumedFrom?: string;
}

/**
 * The conversation as the next model call would see it, handed over by the worker after every completed
 * iteration, already serialised there (the main thread only stores it). Bounded by `limits.maxCheckpointChars`.
 */
export interface Checkpoint {
  /** Model turns completed when it was taken. */
  iterations: number;
  /** The message list, as JSON (`ModelMessage[]`). */
  messages: string;
}

/** The fields the engine changes after a record is created. */
export type TaskRecordPatch = Partial<
  Omit<TaskRecord, 'id' | 'sessionId' | 'goal' | 'createdAt' | 'depth' | 'resumedFrom'>
>;

/**
 * Where task records live. Reads are synchronous (`check` and `list` answer at once); writes happen at
 * create, at every status transition, on progress and at the end. The default keeps them in memory
 * (`stores/memory-store.ts`); a durable store implements the same calls.
 *
 * A store bounds itself: `finish` lets it drop the oldest finished records past its retention.
 */
export interface TaskStore {
  create(record: TaskRecord): void;
  update(id: string, patch: TaskRecordPatch): void;
  /** Marks a record finished (its last `update` made it terminal) and applies retention. */
  finish(id: string): void;
  get(id: string): TaskRecord | undefined;
  /** One session's records, oldest first. */
  ofSession(sessionId: string): Iterable<TaskRecord>;
  /**
   * Records left `queued` or `running`: at open, tasks of a process that died (the engine ends them
   * `interrupted`). Empty for a store that starts empty.
   */
  unfinished(): Iterable<TaskRecord>;
  /** Keeps a task's latest checkpoint, replacing the one before. */
  saveCheckpoint(id: string, checkpoint: Checkpoint): void;
  /** The latest checkpoint of a task, if it has one and is still retained. */
  checkpoint(id: string): Checkpoint | undefined;
  /** Flushes pending writes and releases what the store holds open. */
  close(): Promise<void>;
  /**
   * For a store shared by several supervisors (Redis): the unfinished tasks of a session and the tasks not yet
   * started, across all of them, as far as this store's view knows. The engine admits against the larger of
   * these and its own counts.
   */
  counts?(sessionId: string): { unfinished: number; queued: number };
  /**
   * For a shared store: resolves at the next change to the record `id` that came from elsewhere (another
   * supervisor, or a worker that wrote the task's end), so a caller can wait for a task this supervisor does not
   * run.
   */
  changed?(id: string): Promise<void>;
  /**
   * For a shared store: calls `listener` after every change that came from elsewhere to a record this view
   * already had (a status or steering change of another supervisor's task), with the values it replaced, so the
   * engine can emit the same events for it as for its own.
   */
  watch?(listener: (change: RemoteChange) => void): void;
  /**
   * For a shared store: hands `onChunks` the output chunks another process's task has written so far and then
   * as they come, until `ended()` is true and nothing is left to read, or `signal` aborts.
   */
  follow?(
    id: string,
    onChunks: (chunks: OutputChunk[]) => void,
    ended: () => boolean,
    signal: AbortSignal,
  ): Promise<void>;
}

/** A change from elsewhere to a shared record: the record as it is now, and what it was before. */
export interface RemoteChange {
  record: TaskRecord;
  before: { status: TaskStatus; delivered: number };
}
