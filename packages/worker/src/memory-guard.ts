import { getHeapStatistics } from 'node:v8';

/** Least time between two samples from `tick`: reading V8's statistics costs about 5 µs. */
const SAMPLE_EVERY_MS = 2;

/**
 * Watches the memory a worker thread holds outside the V8 heap (Buffers, ArrayBuffers): `resourceLimits`
 * caps the heap only, and this memory counts against the host process, so a tool that allocates Buffers in a
 * loop could take the whole host down. Sampled from output and checkpoints (at most every
 * {@link SAMPLE_EVERY_MS} ms) and on a timer; past the limit, `onExceeded` ends the thread. A synchronous loop that never emits nor
 * checkpoints cannot be watched from inside its own thread.
 */
export class MemoryGuard {
  /**
   * The guards of the tasks running in this thread. The memory is the thread's, so one timer samples it for all
   * of them (a thread running a thousand agents would otherwise read V8's statistics ten thousand times a
   * second); past a limit, the oldest guard's task is the one ended (a sample from `tick` names its own task).
   */
  static readonly #live = new Set<MemoryGuard>();
  static #timer: NodeJS.Timeout | undefined;

  readonly #limit: number;
  readonly #onExceeded: (message: string) => void;
  #sampledAt = 0;
  #tripped = false;

  constructor(limitBytes: number, onExceeded: (message: string) => void, intervalMs = 100) {
    this.#limit = limitBytes;
    this.#onExceeded = onExceeded;
    MemoryGuard.#live.add(this);
    MemoryGuard.#timer ??= setInterval(() => {
      const external = getHeapStatistics().external_memory;
      for (const guard of MemoryGuard.#live) if (guard.#judge(external)) return;
    }, intervalMs).unref();
  }

  /** One clock read, and a sample when the last one is {@link SAMPLE_EVERY_MS} old. */
  tick(): void {
    const now = performance.now();
    if (now - this.#sampledAt < SAMPLE_EVERY_MS) return;
    this.#sampledAt = now;
    this.check();
  }

  check(): void {
    this.#judge(getHeapStatistics().external_memory);
  }

  /** Ends the thread through `onExceeded` when `external` is past the limit; true if it did. */
  #judge(external: number): boolean {
    if (this.#tripped || external <= this.#limit) return false;
    this.#tripped = true;
    const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
    this.#onExceeded(
      `out of memory: ${mb(external)} MB held outside the heap (Buffers, ArrayBuffers); the limit is pool.maxExternalMb = ${mb(this.#limit)}`,
    );
    return true;
  }

  close(): void {
    MemoryGuard.#live.delete(this);
    if (MemoryGuard.#live.size > 0) return;
    clearInterval(MemoryGuard.#timer);
    MemoryGuard.#timer = undefined;
  }
}
