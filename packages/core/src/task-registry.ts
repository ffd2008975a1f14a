import { NotFoundError } from './errors.js';
import type { Task } from './task.js';

/**
 * Every retained task, indexed by id and by session. Finished tasks are kept up to `retainFinished` across
 * the supervisor and evicted oldest-finished first, so memory is bounded however many tasks have run.
 */
export class TaskRegistry {
  readonly #retainFinished: number;
  readonly #tasks = new Map<string, Task>();
  readonly #bySession = new Map<string, Set<Task>>();
  readonly #unfinished = new Map<string, number>();
  /**
   * Finished task ids in the order they finished, from `#head` on. An array with a moving head rather than a
   * Set: V8's ordered hash tables keep deleted entries as holes until they rehash, so taking the oldest of a
   * Set after many evictions walks every hole, which was the costliest step of the dispatch path.
   */
  #finished: string[] = [];
  #head = 0;
  /** Tasks waiting for a thread, across all sessions. */
  queued = 0;

  constructor(retainFinished: number) {
    this.#retainFinished = retainFinished;
  }

  get size(): number {
    return this.#tasks.size;
  }

  add(task: Task): void {
    this.#tasks.set(task.id, task);
    const tasks = this.#bySession.get(task.sessionId);
    if (tasks) tasks.add(task);
    else this.#bySession.set(task.sessionId, new Set([task]));
    this.#unfinished.set(task.sessionId, this.unfinished(task.sessionId) + 1);
  }

  /** The task, if it exists and belongs to `sessionId`; otherwise the same `NotFoundError` either way. */
  get(sessionId: string, id: unknown): Task {
    const task = typeof id === 'string' ? this.#tasks.get(id) : undefined;
    if (!task || task.sessionId !== sessionId) throw new NotFoundError(String(id));
    return task;
  }

  unfinished(sessionId: string): number {
    return this.#unfinished.get(sessionId) ?? 0;
  }

  /** Tasks of one session, oldest first. */
  ofSession(sessionId: string): Iterable<Task> {
    return this.#bySession.get(sessionId) ?? [];
  }

  /** Every retained task. */
  all(): IterableIterator<Task> {
    return this.#tasks.values();
  }

  /** Records that a task ended and evicts the oldest finished tasks past the limit. */
  finished(task: Task): void {
    const left = this.unfinished(task.sessionId) - 1;
    if (left > 0) this.#unfinished.set(task.sessionId, left);
    else this.#unfinished.delete(task.sessionId);
    this.#finished.push(task.id);
    while (this.#finished.length - this.#head > this.#retainFinished) {
      this.#evict(this.#finished[this.#head]!);
      this.#head += 1;
    }
    // Drop the evicted prefix once it outweighs the live part: amortised O(1), memory bounded.
    if (this.#head > 1024 && this.#head * 2 > this.#finished.length) {
      this.#finished = this.#finished.slice(this.#head);
      this.#head = 0;
    }
  }

  #evict(id: string): void {
    const task = this.#tasks.get(id);
    if (!task) return;
    this.#tasks.delete(id);
    const tasks = this.#bySession.get(task.sessionId);
    tasks?.delete(task);
    if (tasks?.size === 0) this.#bySession.delete(task.sessionId);
  }
}
