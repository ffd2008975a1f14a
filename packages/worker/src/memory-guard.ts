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
  readonly #limit: number;
  readonly #onExceeded: (message: string) => void;
  readonly #timer: NodeJS.Timeout;
  #sampledAt = 0;
  #tripped = false;

  constructor(limitBytes: number, onExceeded: (message: string) => void, intervalMs = 100) {
    this.#limit = limitBytes;
    this.#onExceeded = onExceeded;
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  /** One clock read, and a sample when the last one is {@link SAMPLE_EVERY_MS} old. */
  tick(): void {
    const now = performance.now();
    if (now - this.#sampledAt < SAMPLE_EVERY_MS) return;
    this.#sampledAt = now;
    this.check();
  }

  check(): void {
    if (this.#tripped) return;
    const external = getHeapStatistics().external_memory;
    if (external <= this.#limit) return;
    this.#tripped = true;
    const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
    this.#onExceeded(
      `out of memory: ${mb(external)} MB held outside the heap (Buffers, ArrayBuffers); the limit is pool.maxExternalMb = ${mb(this.#limit)}`,
    );
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
