import type { Redactor } from '@errand/worker';
import type { OutputChunk } from '@errand/worker/protocol';
import type { SteerMessage } from './executor.js';
import { RingBuffer } from './ring-buffer.js';
import { isTerminal, type TaskEvent, type TaskState, transition } from './task-state.js';
import type { Checkpoint, TaskRecord } from './task-store.js';

/**
 * A task while it is unfinished, on the host's main thread: its record (plain data, written only by the
 * engine), its bounded output, its timers and who waits on it. No thread, port or connection handles: those
 * belong to the executor. Every method is O(1) apart from output, which is O(text written).
 */
export class Task {
  readonly record: TaskRecord;
  readonly output: RingBuffer;
  state: TaskState = { status: 'queued' };
  /** Why it is stopping, for the error message. */
  stopMessage: string | undefined;
  /** Handed to the executor (as opposed to waiting in the engine's fair queue). */
  submitted = false;
  /** The latest checkpoint: what a run starts from when the task is resumed or moved. */
  checkpoint: Checkpoint | undefined;
  /** Steering sent before the run was submitted: it travels with the run. */
  pendingSteers: SteerMessage[] = [];
  readonly children = new Set<string>();
  /** Run-time and cancel-grace timers; both cleared when the task ends. */
  timeoutTimer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  /** Let go of by a closing supervisor while its workers go on (see `release`). */
  released = false;
  #changed: Deferred | undefined;
  readonly #endWaiters = new Set<() => void>();

  constructor(record: TaskRecord, lines: number, lineChars: number, redactor?: Redactor) {
    this.record = record;
    this.output = new RingBuffer(lines, lineChars, redactor);
  }

  get id(): string {
    return this.record.id;
  }

  get sessionId(): string {
    return this.record.sessionId;
  }

  get terminal(): boolean {
    return isTerminal(this.state.status);
  }

  /** Applies an event to the state machine; returns the status before it. */
  apply(event: TaskEvent): TaskState['status'] {
    const before = this.state.status;
    this.state = transition(this.state, event);
    if (this.state.status !== before) this.#notify();
    return before;
  }

  /** Adds a batch of worker chunks to the output; returns the sequence numbers of the steering it acknowledged. */
  append(chunks: readonly OutputChunk[]): number[] {
    const acks: number[] = [];
    for (const chunk of chunks) {
      // An over-long chunk arrives without its first lines: count them before its text (see OutputChunk).
      if (chunk.cutLines) this.output.skip(chunk.cutLines, chunk.kind !== 'text');
      switch (chunk.kind) {
        case 'text':
          this.output.write(chunk.text);
          break;
        case 'steer_ack':
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

  /**
   * Calls `callback` once the task is terminal (at once if it is). Returns a function that forgets the
   * callback, so a waiter that gives up (a timed-out `collect`) leaves nothing behind on the task.
   */
  onEnd(callback: () => void): () => void {
    if (this.terminal) {
      callback();
      return () => {};
    }
    this.#endWaiters.add(callback);
    return () => this.#endWaiters.delete(callback);
  }

  /** `onEnd` callbacks still registered (for tests and diagnostics). */
  get endWaiterCount(): number {
    return this.#endWaiters.size;
  }

  /** Resolves once the task is terminal. */
  ended(): Promise<void> {
    return new Promise<void>((resolve) => this.onEnd(resolve));
  }

  /**
   * Lets go of the task without ending it (a supervisor closing while a shared executor's workers go on running
   * it): whoever waits for its end or its output is woken once, and sees it unfinished.
   */
  release(): void {
    this.released = true;
    const waiters = [...this.#endWaiters];
    this.#endWaiters.clear();
    for (const waiter of waiters) waiter();
    const changed = this.#changed;
    this.#changed = undefined;
    changed?.resolve();
  }

  #notify(): void {
    const changed = this.#changed;
    if (changed) {
      this.#changed = undefined;
      changed.resolve();
    }
    if (this.terminal && this.#endWaiters.size > 0) {
      const waiters = [...this.#endWaiters];
      this.#endWaiters.clear();
      for (const waiter of waiters) waiter();
    }
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
