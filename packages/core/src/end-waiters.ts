/**
 * Callbacks waiting for one task to end. Each caller removes its own when it stops waiting (a `collect` that
 * timed out or was aborted), so a long task polled every second holds only its current waiters. Chaining
 * `.then` on one shared promise could not do that: a reaction stays on the promise until it settles.
 */
export class EndWaiters {
  readonly #waiting = new Set<{ callback: () => void }>();

  /** Waiters registered and not yet removed or called. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Adds a callback; returns the function that removes it (harmless after it ran). */
  add(callback: () => void): () => void {
    // Wrapped, so the same function added twice is two waiters and each removal removes one.
    const entry = { callback };
    this.#waiting.add(entry);
    return () => {
      this.#waiting.delete(entry);
    };
  }

  /** Calls every waiter once, oldest first, and forgets them. Callbacks must not throw. */
  fire(): void {
    if (this.#waiting.size === 0) return;
    const entries = [...this.#waiting];
    this.#waiting.clear();
    for (const entry of entries) entry.callback();
  }
}
