import type { TaskSnapshot } from './types.js';

/** Snapshots a slow `completions()` consumer may have waiting before the oldest is dropped. */
export const MAX_PENDING_COMPLETIONS = 1_000;

interface Sink {
  sessionId: string;
  queue: TaskSnapshot[];
  wake: (() => void) | undefined;
}

/**
 * Push notices of finished tasks, per session. Each `completions()` iterator is registered when it is
 * created (not at its first `next()`), so no task that ends in between is missed; it unregisters on
 * `return()` (a `break` in `for await`), when it is garbage-collected unfinished, and ends when the
 * supervisor closes.
 */
export class CompletionFeed {
  readonly #sinks = new Set<Sink>();
  /** An iterator dropped without `return()` would otherwise keep its sink, and up to 1,000 snapshots, forever. */
  readonly #abandoned = new FinalizationRegistry<Sink>((sink) => this.#sinks.delete(sink));
  #ended = false;

  /** Live iterators (for tests and diagnostics). */
  get size(): number {
    return this.#sinks.size;
  }

  push(snapshot: TaskSnapshot): void {
    for (const sink of this.#sinks) {
      if (sink.sessionId !== snapshot.sessionId) continue;
      if (sink.queue.length >= MAX_PENDING_COMPLETIONS) sink.queue.shift();
      sink.queue.push(snapshot);
      sink.wake?.();
    }
  }

  end(): void {
    this.#ended = true;
    for (const sink of this.#sinks) sink.wake?.();
  }

  subscribe(sessionId: string): AsyncIterableIterator<TaskSnapshot> {
    const sink: Sink = { sessionId, queue: [], wake: undefined };
    const sinks = this.#sinks;
    if (!this.#ended) sinks.add(sink);
    const done = (): IteratorResult<TaskSnapshot> => {
      sinks.delete(sink);
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<TaskSnapshot> = {
      next: async () => {
        for (;;) {
          const snapshot = sink.queue.shift();
          if (snapshot) return { done: false, value: snapshot };
          if (this.#ended || !sinks.has(sink)) return done();
          await new Promise<void>((resolve) => {
            sink.wake = resolve;
          });
          sink.wake = undefined;
        }
      },
      return: async () => {
        const result = done();
        sink.wake?.();
        return result;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    this.#abandoned.register(iterator, sink);
    return iterator;
  }
}
