/**
 * A queue that serves keys (sessions) round-robin instead of first-come-first-served, so a session that
 * queues a thousand tasks cannot starve another session's single task.
 *
 * Each key has its own FIFO; the rotation holds the keys that have items waiting, in the order they started
 * waiting. A key that had nothing waiting joins at the back of the rotation, like everyone else: joining at
 * the front let a stream of new keys with one item each jump ahead of a waiting key forever. So a key waits
 * at most one turn per key ahead of it. All operations are O(1) except `remove`, which is O(items waiting
 * under that key + keys waiting) and only runs when a queued task is cancelled.
 */
export class FairQueue<T> {
  readonly #keyOf: (item: T) => string;
  readonly #byKey = new Map<string, T[]>();
  readonly #rotation: string[] = [];
  #size = 0;

  constructor(keyOf: (item: T) => string) {
    this.#keyOf = keyOf;
  }

  get size(): number {
    return this.#size;
  }

  /** Items waiting behind an earlier item of their own key (`size` minus the keys waiting). */
  get backlog(): number {
    return this.#size - this.#byKey.size;
  }

  /** Items waiting under `key`. */
  sizeOf(key: string): number {
    return this.#byKey.get(key)?.length ?? 0;
  }

  push(item: T): void {
    const key = this.#keyOf(item);
    const waiting = this.#byKey.get(key);
    if (waiting) waiting.push(item);
    else {
      this.#byKey.set(key, [item]);
      this.#rotation.push(key);
    }
    this.#size += 1;
  }

  shift(): T | undefined {
    const key = this.#rotation.shift();
    if (key === undefined) return undefined;
    const waiting = this.#byKey.get(key)!;
    const item = waiting.shift()!;
    if (waiting.length > 0) this.#rotation.push(key);
    else this.#byKey.delete(key);
    this.#size -= 1;
    return item;
  }

  /** Removes an item; returns whether it was waiting. */
  remove(item: T): boolean {
    const key = this.#keyOf(item);
    const waiting = this.#byKey.get(key);
    const index = waiting?.indexOf(item) ?? -1;
    if (!waiting || index === -1) return false;
    waiting.splice(index, 1);
    this.#size -= 1;
    if (waiting.length === 0) {
      this.#byKey.delete(key);
      this.#rotation.splice(this.#rotation.indexOf(key), 1);
    }
    return true;
  }
}
