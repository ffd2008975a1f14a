import type { OutputChunk, Progress } from '@errand/worker/protocol';
import type { ValidGoal } from './delegate-input.js';
import type { DelegationHost } from './delegation-ops.js';
import type { ResolvedOptions } from './options.js';
import type { TaskEnd } from './task-end.js';
import type { Checkpoint } from './task-store.js';

/** A steering message, numbered by the engine. */
export interface SteerMessage {
  seq: number;
  text: string;
}

/**
 * One run of a task, as the engine hands it to an executor. Plain data only (it may be sent to another
 * process or machine): the validated goal, how deep the task sits in a delegation tree, and the steering sent
 * before the run was submitted, which the agent sees before its first model call.
 */
export interface TaskRun {
  taskId: string;
  sessionId: string;
  goal: ValidGoal;
  depth: number;
  steering: SteerMessage[];
  /** Start from this conversation (a resumed task, or one moved off a thread that died). */
  checkpoint?: Checkpoint;
}

/**
 * What an executor reports back, for runs it was given. Called synchronously from the executor; the engine
 * keeps every other part of a task's life (its state machine, timers, events, limits).
 */
export interface ExecutorEvents {
  /** The run began on a worker. At most once per run, before its `settle`. */
  start(taskId: string): void;
  /** Output chunks and the loop's progress. Every one a run emitted arrives before its `settle`. */
  output(taskId: string, chunks: readonly OutputChunk[], progress: Progress | undefined): void;
  /** The conversation after a completed iteration: what a resume starts from. */
  checkpoint(taskId: string, checkpoint: Checkpoint): void;
  /** The run ended: exactly once per submitted run, whether it finished, failed, crashed or was killed. */
  settle(taskId: string, end: TaskEnd): void;
  /** A slot opened, so `capacity` grew. After a hard stop this can come after the run's `settle`. */
  free(): void;
  /** A failure outside any run (a worker that threw after its task returned). Never fatal. */
  error(error: Error): void;
  /**
   * The executor cannot run anything (its backend, e.g. Redis, is unreachable): the engine ends every unfinished
   * task `failed` with this error and refuses new work with it. Once at most.
   */
  unavailable(error: Error): void;
}

/** What an executor is built with. */
export interface ExecutorContext {
  options: ResolvedOptions;
  events: ExecutorEvents;
  /** The delegation operations an orchestrator's tools call, keyed by the parent task's id. */
  delegation: DelegationHost;
}

/**
 * Where tasks run. The engine decides what runs and when (admission, the fair queue, timeouts); an executor
 * only runs what it is given and reports back through {@link ExecutorEvents}. The default runs on worker
 * threads of this process (`executors/piscina`); another (a Redis queue) implements the same calls.
 *
 * Stopping has two steps, both decided by the engine: `stop` asks the agent to end at its next checkpoint,
 * `kill` ends it now (for threads: the thread is terminated). Either way the run still settles once.
 */
export interface Executor {
  /** How many more runs it takes now. The engine submits at most this many. */
  readonly capacity: number;
  /** Starts a run. Never throws for a task's own faults: those settle the run. */
  submit(run: TaskRun): void;
  /** Delivers steering to a submitted run (queued or running); the agent sees it at its next checkpoint. */
  steer(taskId: string, message: SteerMessage): void;
  /** Asks a submitted run to stop cooperatively. */
  stop(taskId: string, reason: 'cancel' | 'timeout'): void;
  /**
   * Ends a submitted run now; `reason` is what host-side calls still pending for it are rejected with. Its
   * `settle` still follows (the engine has usually finished the task already).
   */
  kill(taskId: string, reason: string): void;
  /** Waits for every submitted run to settle, then releases threads, ports and connections. */
  close(): Promise<void>;
  /**
   * True for an executor shared by several supervisors (the bullmq one): `steer` and `stop` then also reach a
   * run another supervisor submitted, by task id, and the run's end reaches the store without this one.
   */
  readonly shared?: boolean;
  /** For an executor that connects asynchronously: settles once it is ready to take runs, or has failed to. */
  readonly ready?: Promise<void>;
}

/** Builds an executor; the engine calls it once, in its constructor. */
export type ExecutorFactory = (context: ExecutorContext) => Executor;
