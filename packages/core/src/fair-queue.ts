import { Piscina, type TaskQueue } from 'piscina';

/** The queue's element type, as Piscina's `TaskQueue` declares it (Piscina does not export it by name). */
type Task = Parameters<TaskQueue['push']>[0];

/** What the engine attaches to each Piscina task so the queue knows its session. */
export interface FairQueueOptions {
  sessionId: string;
}

/**
 * A Piscina task queue that serves sessions round-robin instead of first-come-first-served, so a session
 * that queues a thousand tasks cannot starve another session's single task.
 *
 * Each session has its own FIFO; the rotation holds the sessions that have tasks waiting. A session that
 * had nothing waiting joins at the front of the rotation: it is served at the next free thread, and
 * backlogged sessions then take turns. All operations are O(1) except `remove`, which is O(tasks waiting in
 * that session) and only runs when a queued task is cancelled.
 */
export class FairQueue implements TaskQueue {
  readonly #bySession = new Map<string, Task[]>();
  readonly #rotation: string[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(task: Task): void {
    const session = sessionOf(task);
    const waiting = this.#bySession.get(session);
    if (waiting) waiting.push(task);
    else {
      this.#bySession.set(session, [task]);
      this.#rotation.unshift(session);
    }
    this.#size += 1;
  }

  shift(): Task | null {
    const session = this.#rotation.shift();
    if (session === undefined) return null;
    const waiting = this.#bySession.get(session)!;
    const task = waiting.shift()!;
    if (waiting.length > 0) this.#rotation.push(session);
    else this.#bySession.delete(session);
    this.#size -= 1;
    return task;
  }

  remove(task: Task): void {
    const session = sessionOf(task);
    const waiting = this.#bySession.get(session);
    const index = waiting?.indexOf(task) ?? -1;
    if (!waiting || index === -1) return;
    waiting.splice(index, 1);
    this.#size -= 1;
    if (waiting.length === 0) {
      this.#bySession.delete(session);
      this.#rotation.splice(this.#rotation.indexOf(session), 1);
    }
  }
}

function sessionOf(task: Task): string {
  // Piscina exposes a task's payload options under its public `queueOptionsSymbol`.
  const options = (task as unknown as Record<symbol, unknown>)[Piscina.queueOptionsSymbol] as
    | Partial<FairQueueOptions>
    | null
    | undefined;
  return typeof options?.sessionId === 'string' ? options.sessionId : '';
}
