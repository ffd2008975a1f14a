import type { TaskSnapshot } from './types.js';

/** Snapshots a slow `completions()` consumer may have waiting before the oldest is dropped. */
export const MAX_PENDING_COMPLETIONS = 1_000;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** One `completions()` iterator's state. Only the iterator holds it strongly (see `CompletionFeed`). */
interface Subscriber {
  readonly sessionId: string;
  /** Snapshots nobody has asked for yet, oldest first. */
  readonly queue: TaskSnapshot[];
  /** Resolvers of pending `next()` calls, oldest first. */
  readonly waiters: Array<(result: IteratorResult<TaskSnapshot>) => void>;
  /** No more snapshots will come: `return()`, or the supervisor closed. */
  closed: boolean;
}

/** What the finalizer needs to forget a collected subscriber; must not reference the subscriber itself. */
interface Registration {
  readonly sessionId: string;
  readonly ref: WeakRef<Subscriber>;
}

/**
 * Push notices of finished tasks, per session. Each `completions()` iterator is registered when it is
 * created (not at its first `next()`), so no task that ends in between is missed; it unregisters on
 * `return()` (a `break` in `for await`), when it is garbage-collected unfinished, and ends when the
 * supervisor closes.
 *
 * Subscribers are indexed by session, so a task end touches only its own session's iterators.
 *
 * Ownership: the feed holds an iterator's state through a `WeakRef` only, and a pending `next()` keeps just
 * a resolver inside that state. So an iterator that is dropped, even with `next()` calls pending, is
 * collectable with everything it buffered; a `FinalizationRegistry` then removes its entry. A `for await`
 * loop is different: the only thing that keeps a suspended loop alive is the promise it awaits, and that
 * promise is reachable only from our state, so a loop nobody else references would be collected mid-wait and
 * silently stop. `for await` calls `[Symbol.asyncIterator]()` first, so that call pins the state strongly
 * until the loop ends (`return()`, done, or `end()`). Code that calls `next()` by hand must keep the iterator.
 */
export class CompletionFeed {
  readonly #bySession = new Map<string, Set<WeakRef<Subscriber>>>();
  /** Iterators driven by `for await`: held strongly until they finish (see the class comment). */
  readonly #looping = new Set<Subscriber>();
  readonly #collected = new FinalizationRegistry<Registration>(({ sessionId, ref }) =>
    this.#forget(sessionId, ref),
  );
  #size = 0;
  #ended = false;

  /** Registered iterators, across sessions (for tests and diagnostics). */
  get size(): number {
    return this.#size;
  }

  /** Registered iterators of one session. */
  sizeOf(sessionId: string): number {
    return this.#bySession.get(sessionId)?.size ?? 0;
  }

  /** Delivers a finished task's snapshot to its session's iterators: O(that session's iterators). */
  push(snapshot: TaskSnapshot): void {
    const refs = this.#bySession.get(snapshot.sessionId);
    if (!refs) return;
    for (const ref of refs) {
      const subscriber = ref.deref();
      if (subscriber) deliver(subscriber, snapshot);
      else this.#forget(snapshot.sessionId, ref);
    }
  }

  /** Ends every iterator: each pending `next()` resolves done, after any snapshots already buffered. */
  end(): void {
    this.#ended = true;
    for (const refs of this.#bySession.values()) {
      for (const ref of refs) {
        const subscriber = ref.deref();
        if (subscriber) settle(subscriber);
      }
    }
    this.#bySession.clear();
    this.#looping.clear();
    this.#size = 0;
  }

  subscribe(sessionId: string): AsyncIterableIterator<TaskSnapshot> {
    const subscriber: Subscriber = { sessionId, queue: [], waiters: [], closed: this.#ended };
    const ref = new WeakRef(subscriber);
    if (!this.#ended) {
      const refs = this.#bySession.get(sessionId) ?? new Set<WeakRef<Subscriber>>();
      if (refs.size === 0) this.#bySession.set(sessionId, refs);
      refs.add(ref);
      this.#size += 1;
      this.#collected.register(subscriber, { sessionId, ref }, ref);
    }
    const iterator: AsyncIterableIterator<TaskSnapshot> = {
      next: () => {
        const value = subscriber.queue.shift();
        if (value !== undefined) return Promise.resolve({ done: false, value });
        if (subscriber.closed) return Promise.resolve(DONE);
        return new Promise((resolve) => subscriber.waiters.push(resolve));
      },
      return: () => {
        if (!subscriber.closed) {
          this.#forget(sessionId, ref);
          this.#collected.unregister(ref);
          this.#looping.delete(subscriber);
        }
        subscriber.queue.length = 0;
        settle(subscriber);
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]: () => {
        if (!subscriber.closed) this.#looping.add(subscriber);
        return iterator;
      },
    };
    return iterator;
  }

  #forget(sessionId: string, ref: WeakRef<Subscriber>): void {
    const refs = this.#bySession.get(sessionId);
    if (!refs?.delete(ref)) return;
    this.#size -= 1;
    if (refs.size === 0) this.#bySession.delete(sessionId);
  }
}

function deliver(subscriber: Subscriber, snapshot: TaskSnapshot): void {
  const waiter = subscriber.waiters.shift();
  if (waiter) waiter({ done: false, value: snapshot });
  else {
    if (subscriber.queue.length >= MAX_PENDING_COMPLETIONS) subscriber.queue.shift();
    subscriber.queue.push(snapshot);
  }
}

/** Closes a subscriber: pending `next()` calls resolve done, oldest first. */
function settle(subscriber: Subscriber): void {
  subscriber.closed = true;
  for (const waiter of subscriber.waiters.splice(0)) waiter(DONE);
}
