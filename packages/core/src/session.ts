import type { Engine } from './engine.js';
import { describeValue, InvalidInputError } from './errors.js';
import { summaryOf } from './snapshot.js';
import type { Task } from './task.js';
import type { TaskStatus } from './task-state.js';
import type { TaskRecord } from './task-store.js';
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

/** Options for {@link Session.resume}. */
export interface ResumeOptions {
  /** Model turns in total, the checkpointed ones included. @default the original task's `maxIterations` */
  maxIterations?: number;
  /** Run time of the new task, counted from when it starts. @default the original task's `timeoutMs` */
  timeoutMs?: number;
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

  /**
   * Starts a new task that goes on from where a stopped one left off: its last checkpoint (the conversation
   * after its last completed iteration). Works for `interrupted`, `cancelled`, `timed_out` and `failed` tasks
   * that have one; the new task's snapshot says `resumedFrom`. Returns the new id synchronously. Throws
   * `InvalidInputError` for a completed task or one without a checkpoint, `NotFoundError` for another
   * session's id.
   */
  resume(taskId: string, options: ResumeOptions = {}): string {
    if (options === null || typeof options !== 'object')
      throw new InvalidInputError('options', options, `must be an object, got ${describeValue(options)}`);
    return this.#engine.resume(this.id, taskId, options);
  }

  /** The task's state now. O(1) apart from the preview lines. */
  check(taskId: string, options: CheckOptions = {}): TaskSnapshot {
    const view = this.#engine.view(this.id, taskId);
    return this.#engine.snapshot(view, this.#previewLines(options.previewLines, 10));
  }

  /**
   * Waits for the task to end, at most `timeoutMs`. Never hangs past it: on timeout the snapshot has
   * `timedOut: true` and the task is untouched. Any number of callers may wait on one task; one that gives up
   * leaves nothing behind on it.
   */
  async collect(taskId: string, options: CollectOptions = {}): Promise<TaskSnapshot> {
    const view = this.#engine.view(this.id, taskId);
    const previewLines = this.#previewLines(options.previewLines, this.#engine.options.limits.outputLines);
    const timeoutMs = options.timeoutMs ?? 300_000;
    if (
      typeof timeoutMs !== 'number' ||
      !Number.isFinite(timeoutMs) ||
      timeoutMs < 0 ||
      timeoutMs > 2 ** 31 - 1
    ) {
      throw new InvalidInputError(
        'timeoutMs',
        timeoutMs,
        `must be a number from 0 to ${2 ** 31 - 1}, got ${describeValue(timeoutMs)}`,
      );
    }
    options.signal?.throwIfAborted();
    if (!view.live && this.#engine.remote.isRemote(view)) {
      const ended = timeoutMs > 0 && (await this.#engine.remote.wait(view.record, timeoutMs, options.signal));
      const record = this.#engine.view(this.id, taskId).record;
      const snapshot = this.#engine.snapshot({ record, live: undefined }, previewLines);
      if (!ended) snapshot.timedOut = true;
      return snapshot;
    }
    const { live } = view;
    if (live && !live.terminal && timeoutMs > 0) await waitForEnd(live, timeoutMs, options.signal);
    const snapshot = this.#engine.snapshot(
      { record: view.record, live: live?.terminal ? undefined : live },
      previewLines,
    );
    if (live && !live.terminal) snapshot.timedOut = true;
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
    const view = this.#engine.view(this.id, taskId);
    const reason =
      typeof options.reason === 'string' && options.reason.trim() ? options.reason.slice(0, 500) : undefined;
    if (view.live) {
      this.#engine.stop(view.live, 'cancel', reason ? `cancelled: ${reason}` : 'cancelled by the host');
      await view.live.ended();
    } else if (this.#engine.remote.isRemote(view)) {
      await this.#engine.remote.cancel(view.record);
    }
    return this.#engine.snapshot(
      { record: this.#engine.view(this.id, taskId).record, live: undefined },
      this.#engine.options.limits.outputLines,
    );
  }

  /** This session's retained tasks, oldest first, optionally only those in one status. */
  list(options: { status?: TaskStatus } = {}): TaskSummary[] {
    const summaries: TaskSummary[] = [];
    for (const { record, live } of this.#engine.list(this.id)) {
      if (options.status === undefined || record.status === options.status)
        summaries.push(summaryOf(record, live));
    }
    return summaries;
  }

  /**
   * The task's output as lines: first what is still buffered, then live lines, ending when the task ends.
   * A consumer slower than the task skips lines that left the buffer (their indexes jump) rather than
   * holding memory for them.
   */
  stream(taskId: string): AsyncIterableIterator<OutputLine> {
    const view = this.#engine.view(this.id, taskId);
    const { record, live } = view;
    if (live) return streamLines(live);
    if (this.#engine.remote.isRemote(view)) return followedLines(this.#engine.remote.follow(record));
    return storedLines(record);
  }

  /** A push notice (the final snapshot) for every task of this session that ends from now on. */
  completions(): AsyncIterableIterator<TaskSnapshot> {
    return this.#engine.completions.subscribe(this.id);
  }

  #previewLines(value: number | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    const max = this.#engine.options.limits.outputLines;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new InvalidInputError(
        'previewLines',
        value,
        `must be an integer from 0 to ${max}, got ${describeValue(value)}`,
      );
    }
    return value;
  }
}

/** Waits for the task to end, the timeout or the signal, whichever is first; removes its waiter either way. */
function waitForEnd(task: Task, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let forget = (): void => {};
    const cleanup = () => {
      clearTimeout(timer);
      forget();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve();
    }, timeoutMs);
    forget = task.onEnd(() => {
      cleanup();
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function* storedLines(record: TaskRecord): AsyncGenerator<OutputLine, void, undefined> {
  const tail = record.output;
  if (!tail) return;
  for (let offset = 0; offset < tail.lines.length; offset++) {
    yield { index: tail.firstIndex + offset, text: tail.lines[offset]! };
  }
}

/** Another supervisor's running task, followed from the shared store until it ends or the reader stops. */
async function* followedLines(follower: {
  task: Task;
  stop: () => void;
}): AsyncGenerator<OutputLine, void, undefined> {
  try {
    yield* streamLines(follower.task);
  } finally {
    follower.stop();
  }
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
    if (task.terminal || task.released) return;
    await changed;
  }
}
