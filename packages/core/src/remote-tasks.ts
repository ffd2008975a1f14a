import type { Redactor } from '@errand/worker';
import type { CompletionFeed } from './completion-feed.js';
import type { Emit, TaskView } from './engine.js';
import type { Executor } from './executor.js';
import type { ResolvedOptions } from './options.js';
import { snapshotOf } from './snapshot.js';
import { Task } from './task.js';
import { isTerminal } from './task-state.js';
import type { RemoteChange, TaskRecord, TaskStore } from './task-store.js';

/** What {@link RemoteTasks} works with: the engine's store, executor, options and outlets. */
export interface RemoteTasksParts {
  store: TaskStore;
  /** The engine's executor (a getter: the engine builds it after this). */
  executor: () => Executor;
  options: ResolvedOptions;
  redactor: Redactor;
  emit: Emit;
  completions: CompletionFeed;
  /** True for a task this engine runs itself. */
  isLive: (id: string) => boolean;
}

/**
 * Tasks another supervisor runs, as this one sees them through a shared store and executor (bullmq): waiting
 * for their end, cancelling them, following their output, and turning their changes into this supervisor's
 * events. With the local executor nothing is remote and none of this runs.
 */
export class RemoteTasks {
  readonly #parts: RemoteTasksParts;

  constructor(parts: RemoteTasksParts) {
    this.#parts = parts;
  }

  /**
   * True for a task this supervisor does not run but a shared executor can reach: another supervisor delegated
   * it (or this one did before a restart) and it is not finished. Its record is the shared store's view.
   */
  isRemote(view: TaskView): boolean {
    return (
      view.live === undefined && this.#parts.executor().shared === true && !isTerminal(view.record.status)
    );
  }

  /** Waits until a remote task's record is terminal in the view, at most `timeoutMs`. Resolves true if it ended. */
  async wait(record: TaskRecord, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const { store } = this.#parts;
    if (!store.changed) return isTerminal(record.status);
    const deadline = Date.now() + timeoutMs;
    let current = record;
    while (!isTerminal(current.status)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      signal?.throwIfAborted();
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      try {
        await Promise.race([
          store.changed(current.id),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, left);
          }),
          new Promise<void>((_, reject) => {
            onAbort = () => reject(signal?.reason);
            signal?.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
      current = store.get(current.id) ?? current;
    }
    return true;
  }

  /**
   * Cancels a remote task: the worker running it is asked to stop and terminates its thread after `graceMs`;
   * resolves once the view shows it ended (or `graceMs` + 5 s passed).
   */
  async cancel(record: TaskRecord, graceMs = this.#parts.options.limits.cancelGraceMs): Promise<void> {
    const executor = this.#parts.executor();
    executor.stop(record.id, 'cancel');
    const kill = setTimeout(() => executor.kill(record.id, `task ${record.id} ended cancelled`), graceMs);
    try {
      await this.wait(record, graceMs + 5_000);
    } finally {
      clearTimeout(kill);
    }
  }

  /**
   * A live view of a remote task's output: a stand-in task fed from the shared store's output stream (the lines
   * it still holds), released when the task has ended and its last output is in. `stop` ends the following.
   */
  follow(record: TaskRecord): { task: Task; stop: () => void } {
    const { store, options, redactor } = this.#parts;
    const { limits } = options;
    const follower = new Task({ ...record }, limits.outputLines, limits.outputLineChars, redactor);
    const abort = new AbortController();
    const ended = () => isTerminal(store.get(record.id)?.status ?? 'completed');
    const following = store.follow
      ? store.follow(record.id, (chunks) => follower.append(chunks), ended, abort.signal)
      : Promise.resolve();
    following.catch(() => {}).finally(() => follower.release());
    return { task: follower, stop: () => abort.abort() };
  }

  /**
   * Another supervisor's task changed in the shared store: the same events as for a task of this one (its
   * output lines excepted: those stay with the supervisor that delegated it).
   */
  onChange({ record, before }: RemoteChange): void {
    const { emit, completions, options, isLive } = this.#parts;
    if (isLive(record.id)) return;
    const taskId = record.id;
    const { sessionId } = record;
    for (let seq = before.delivered + 1; seq <= record.steering.delivered; seq++)
      emit('steer-delivered', { taskId, sessionId, seq });
    if (record.status === before.status) return;
    const at = record.transitions.at(-1)?.at ?? Date.now();
    emit('task-status', { taskId, sessionId, from: before.status, to: record.status, at });
    if (record.status === 'running') emit('task-start', snapshotOf(record, undefined, 0));
    if (isTerminal(record.status)) {
      const snapshot = snapshotOf(record, undefined, options.limits.outputLines);
      emit('task-end', snapshot);
      completions.push(snapshot);
    }
  }
}
