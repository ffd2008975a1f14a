/**
 * Finished task ids in the order they finished, and the retention that drops the oldest past a bound. An array
 * with a moving head rather than a Set: V8's ordered hash tables keep deleted entries as holes until they
 * rehash, so taking the oldest of a Set after many evictions walks every hole, which was the costliest step
 * of the dispatch path. Shared by the stores so retention means the same in memory and in a file.
 */
export class FinishedLog {
  readonly #retain: number;
  #ids: string[] = [];
  #head = 0;

  constructor(retain: number) {
    this.#retain = retain;
  }

  /** Records that `id` finished; calls `evict` for each oldest id past the bound. Amortised O(1). */
  push(id: string, evict: (id: string) => void): void {
    this.#ids.push(id);
    this.trim(evict);
  }

  /** Calls `evict` for each oldest id past the bound. */
  trim(evict: (id: string) => void): void {
    while (this.#ids.length - this.#head > this.#retain) {
      evict(this.#ids[this.#head]!);
      this.#head += 1;
    }
    // Drop the evicted prefix once it outweighs the live part, so memory stays bounded.
    if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#head = 0;
    }
  }
}
