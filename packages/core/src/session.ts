import type { Engine } from './engine.js';
import { InvalidInputError } from './errors.js';
import type { Task } from './task.js';
import type { TaskStatus } from './task-state.js';
import type { DelegateInput, OutputLine, SteerReceipt, TaskSnapshot, TaskSummary } from './types.js';

/** Options for {@link Session.check}. */
export interface CheckOptions {
  /** Output lines to include, from the end. @default 10 */
  previewLines?: number;
}

/** Options for {@link Session.collect}. */
export interface CollectOptions {
  /** Longest wait; then the snapshot comes back with `timedOut: true` and the task keeps running. @default 300_000 */
  timeoutMs?: number;
  /** Output lines to include, from the end. @default limits.outputLines (everything kept) */
  previewLines?: number;
  /** Stops waiting (rejects with the signal's reason); the task is left alone. */
  signal?: AbortSignal;
}

/**
 * A scoped view of the supervisor: one user, conversation or agent. A session sees only its own tasks; an id
 * from another session is `not_found`, exactly like an id that never existed.
 *
 * @example
 * const session = supervisor.session('user-42');
 * const id = session.delegate({ goal: 'summarise the open issues' });
 * const done = await session.collect(id, { timeoutMs: 60_000 });
 */
export class Session {
  readonly id: string;
  readonly #engine: Engine;

  /** @internal Use `supervisor.session(id)`. */
  constructor(engine: Engine, id: string) {
    this.#engine = engine;
    this.id = id;
  }

  /**
   * Starts a goal in the background and returns its task id at once. Throws `InvalidInputError`,
   * `LimitExceededError` or `ShuttingDownError`.
   */
  delegate(input: DelegateInput): string {
    return this.#engine.delegate(this.id, input);
  }

  /** The task's state now. O(1) apart from the preview lines. */
  check(taskId: string, options: CheckOptions = {}): TaskSnapshot {
    const task = this.#task(taskId);
    return task.snapshot(this.#previewLines(options.previewLines, 10));
  }

  /**
   * Waits for the task to end, at most `timeoutMs`. Never hangs past it: on timeout the snapshot has
   * `timedOut: true` and the task is untouched. Any number of callers may wait on one task.
   */
  async collect(taskId: string, options: CollectOptions = {}): Promise<TaskSnapshot> {
    const task = this.#task(taskId);
    const previewLines = this.#previewLines(options.previewLines, this.#engine.options.limits.outputLines);
    const timeoutMs = options.timeoutMs ?? 300_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > 2 ** 31 - 1) {
      throw new InvalidInputError('timeoutMs', `must be a number from 0 to ${2 ** 31 - 1}, got ${timeoutMs}`);
    }
    options.signal?.throwIfAborted();
    if (!task.terminal && timeoutMs > 0) await waitForEnd(task, timeoutMs, options.signal);
    const snapshot = task.snapshot(previewLines);
    if (!task.terminal) snapshot.timedOut = true;
    return snapshot;
  }

  /** Queues guidance for the sub-agent; it lands at the agent's next checkpoint. */
  steer(taskId: string, message: string): SteerReceipt {
    return this.#engine.steer(this.id, taskId, message);
  }

  /**
   * Stops a task and resolves once it has ended `cancelled`, with its partial result and output. A finished
   * task is returned as it is.
   */
  async cancel(taskId: string, options: { reason?: string } = {}): Promise<TaskSnapshot> {
    const task = this.#task(taskId);
    const reason =
      typeof options.reason === 'string' && options.reason.trim() ? options.reason.slice(0, 500) : undefined;
    this.#engine.stop(task, 'cancel', reason ? `cancelled: ${reason}` : 'cancelled by the host');
    await task.ended();
    return task.snapshot(this.#engine.options.limits.outputLines);
  }

  /** This session's retained tasks, oldest first, optionally only those in one status. */
  list(options: { status?: TaskStatus } = {}): TaskSummary[] {
    const summaries: TaskSummary[] = [];
    for (const task of this.#engine.registry.ofSession(this.id)) {
      if (options.status === undefined || task.status === options.status) summaries.push(task.summary());
    }
    return summaries;
  }

  /**
   * The task's output as lines: first what is still buffered, then live lines, ending when the task ends.
   * A consumer slower than the task skips lines that left the buffer (their indexes jump) rather than
   * holding memory for them.
   */
  stream(taskId: string): AsyncIterableIterator<OutputLine> {
    return streamLines(this.#task(taskId));
  }

  /** A push notice (the final snapshot) for every task of this session that ends from now on. */
  completions(): AsyncIterableIterator<TaskSnapshot> {
    return this.#engine.completions.subscribe(this.id);
  }

  #task(taskId: string): Task {
    return this.#engine.registry.get(this.id, taskId);
  }

  #previewLines(value: number | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    const max = this.#engine.options.limits.outputLines;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new InvalidInputError('previewLines', `must be an integer from 0 to ${max}, got ${value}`);
    }
    return value;
  }
}

/**
 * Resolves when the task ends or `timeoutMs` passes; rejects with the signal's reason if it is aborted.
 * Whichever comes first removes the other two (timer, abort listener, end waiter), so a call that returns
 * leaves nothing on the task.
 */
function waitForEnd(task: Task, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve();
    }, timeoutMs);
    // Assigned after `onEnd` returns; a task that is already terminal calls back at once, with nothing to remove.
    let stopWaiting: (() => void) | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stopWaiting?.();
    };
    stopWaiting = task.onEnd(() => {
      cleanup();
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function* streamLines(task: Task): AsyncGenerator<OutputLine, void, undefined> {
  let cursor = task.output.firstIndex;
  for (;;) {
    // Take the wake-up promise before reading, so output that lands between the read and the wait is not missed.
    const changed = task.changed();
    const closed = task.output.closedCount;
    cursor = Math.max(cursor, task.output.firstIndex);
    for (const text of task.output.slice(cursor, closed)) {
      yield { index: cursor, text };
      cursor += 1;
    }
    if (cursor < task.output.closedCount) continue;
    if (task.terminal) return;
    await changed;
  }
}
