import type { MessagePort } from 'node:worker_threads';
import type { ErrorCode, ExitReason, OutputChunk, Redactor, TerminalStatus, Usage } from '@errand/worker';
import type { ValidGoal } from './delegate-input.js';
import { EndWaiters } from './end-waiters.js';
import { RingBuffer } from './ring-buffer.js';
import { isTerminal, type TaskEvent, type TaskState, type TaskStatus, transition } from './task-state.js';
import type { TaskSnapshot, TaskSummary } from './types.js';

/** How a task ended. */
export interface TaskEnd {
  status: TerminalStatus;
  result?: string;
  error?: { code: ErrorCode; message: string };
  exitReason: ExitReason;
  iterations?: number;
  usage?: Usage;
}

/** The thread-side handles of a dispatched task; dropped when it ends. */
export interface TaskChannel {
  /** The parent's end of the task port. */
  port: MessagePort;
  /** The worker's end, transferred with the task when it is submitted. */
  workerPort: MessagePort;
  /** The control block (cancel flag, steering counter) and a view of it. */
  buffer: SharedArrayBuffer;
  control: Int32Array;
  /** Aborts the Piscina task: drops it from the queue, or terminates its thread. */
  abort: AbortController;
}

/**
 * One delegated goal on the main thread: its state, its bounded output, and who waits on it. Bookkeeping
 * only; every method is O(1) apart from output, which is O(text written).
 */
export class Task {
  readonly id: string;
  readonly sessionId: string;
  readonly goal: ValidGoal;
  readonly createdAt = Date.now();
  readonly output: RingBuffer;
  state: TaskState = { status: 'queued' };
  startedAt: number | undefined;
  endedAt: number | undefined;
  iterations = 0;
  lastText: string | undefined;
  usage: Usage | undefined;
  result: string | undefined;
  error: { code: ErrorCode; message: string } | undefined;
  exitReason: ExitReason | undefined;
  readonly steering = { sent: 0, delivered: 0 };
  /** Why it is stopping, for the error message. */
  stopMessage: string | undefined;
  channel: TaskChannel | undefined;
  /** Handed to Piscina (as opposed to waiting in the engine's fair queue). */
  submitted = false;
  /** 0 for a goal the host delegated; parent's depth + 1 for one an orchestrator delegated. */
  depth = 0;
  parent: Task | undefined;
  readonly children = new Set<Task>();
  /** The host side of the bridge: aborted when the task ends, so host tools stop; closes the bridge port. */
  bridge: { close(reason: string): void } | undefined;
  /** Run-time and cancel-grace timers; both cleared when the task ends. */
  timeoutTimer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  #changed: Deferred | undefined;
  #ended: Deferred | undefined;
  readonly #endWaiters = new EndWaiters();

  constructor(
    id: string,
    sessionId: string,
    goal: ValidGoal,
    lines: number,
    lineChars: number,
    redactor?: Redactor,
  ) {
    this.id = id;
    this.sessionId = sessionId;
    this.goal = goal;
    this.output = new RingBuffer(lines, lineChars, redactor);
  }

  get status(): TaskStatus {
    return this.state.status;
  }

  get terminal(): boolean {
    return isTerminal(this.state.status);
  }

  /** Applies an event; returns the status before it, for the `task-status` event. */
  apply(event: TaskEvent): TaskStatus {
    const before = this.state.status;
    this.state = transition(this.state, event);
    if (this.state.status !== before) this.#notify();
    return before;
  }

  /** Adds a batch of worker chunks to the output; returns how many steering acks it held. */
  append(chunks: readonly OutputChunk[]): number[] {
    const acks: number[] = [];
    for (const chunk of chunks) {
      switch (chunk.kind) {
        case 'text':
          this.output.write(chunk.text);
          break;
        case 'steer_ack':
          this.steering.delivered += 1;
          if (chunk.seq !== undefined) acks.push(chunk.seq);
          this.output.writeLines(`[steer #${chunk.seq ?? '?'} delivered] ${chunk.text}`);
          break;
        case 'tool_call':
          this.output.writeLines(`→ ${chunk.text}`);
          break;
        case 'tool_result':
          this.output.writeLines(`← ${chunk.text}`);
          break;
        default:
          this.output.writeLines(chunk.text);
      }
    }
    this.#notify();
    return acks;
  }

  /** Resolves at the next output or status change; what `stream` waits on. */
  changed(): Promise<void> {
    this.#changed ??= deferred();
    return this.#changed.promise;
  }

  /** Resolves once the task is terminal. Shared by every waiter, so many collectors cost one promise. */
  ended(): Promise<void> {
    if (this.terminal) return Promise.resolve();
    this.#ended ??= deferred();
    return this.#ended.promise;
  }

  /**
   * Calls `callback` once the task is terminal (at once if it already is). Returns a function that removes
   * it: a waiter that gives up (a timed-out or aborted `collect`) leaves nothing behind on the task.
   */
  onEnd(callback: () => void): () => void {
    if (!this.terminal) return this.#endWaiters.add(callback);
    callback();
    return () => {};
  }

  /** `onEnd` callbacks still registered (for tests and diagnostics). */
  get endWaiterCount(): number {
    return this.#endWaiters.size;
  }

  snapshot(previewLines: number): TaskSnapshot {
    const snapshot: TaskSnapshot = {
      id: this.id,
      sessionId: this.sessionId,
      status: this.state.status,
      goal: this.goal.goal,
      createdAt: this.createdAt,
      elapsedMs: (this.endedAt ?? Date.now()) - this.createdAt,
      iterations: this.iterations,
      preview: this.output.tail(previewLines),
      outputLines: this.output.lineCount,
      droppedLines: this.output.dropped,
      steering: { ...this.steering },
    };
    if (this.startedAt !== undefined) snapshot.startedAt = this.startedAt;
    if (this.endedAt !== undefined) snapshot.endedAt = this.endedAt;
    if (this.result !== undefined) snapshot.result = this.result;
    if (this.error !== undefined) snapshot.error = { ...this.error };
    if (this.exitReason !== undefined) snapshot.exitReason = this.exitReason;
    if (this.usage !== undefined) snapshot.usage = { ...this.usage };
    if (this.goal.metadata !== undefined) snapshot.metadata = structuredClone(this.goal.metadata);
    return snapshot;
  }

  summary(): TaskSummary {
    return {
      id: this.id,
      status: this.state.status,
      goal: this.goal.goal,
      createdAt: this.createdAt,
      elapsedMs: (this.endedAt ?? Date.now()) - this.createdAt,
      iterations: this.iterations,
      outputLines: this.output.lineCount,
    };
  }

  #notify(): void {
    const changed = this.#changed;
    if (changed) {
      this.#changed = undefined;
      changed.resolve();
    }
    if (this.terminal && this.#ended) {
      this.#ended.resolve();
      this.#ended = undefined;
    }
    if (this.terminal) this.#endWaiters.fire();
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
