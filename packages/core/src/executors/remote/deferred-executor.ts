import type { Executor, ExecutorEvents, SteerMessage, TaskRun } from '../../executor.js';

/**
 * An executor whose implementation loads and connects asynchronously (the bullmq one: a dynamic import of
 * `@errand/redis`, then Redis). The engine is built synchronously, so this stands in: it takes no run
 * (`capacity` 0) until the real one is ready, then says so with `free`, and the engine hands over what waits.
 * If loading fails, `unavailable` tells the engine why.
 */
export class DeferredExecutor implements Executor {
  readonly shared = true;
  #inner: Executor | undefined;
  #closing = false;
  readonly #loading: Promise<void>;

  constructor(load: Promise<Executor>, events: ExecutorEvents) {
    this.#loading = load.then(
      (inner) => {
        this.#inner = inner;
        if (!this.#closing) events.free();
      },
      (error: unknown) => {
        if (!this.#closing) events.unavailable(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** Settles once the real executor is ready, or loading failed (then `unavailable` said why). */
  get ready(): Promise<void> {
    return this.#loading;
  }

  get capacity(): number {
    return this.#closing ? 0 : (this.#inner?.capacity ?? 0);
  }

  submit(run: TaskRun): void {
    // capacity is 0 until #inner is set, so the engine never submits before.
    this.#inner?.submit(run);
  }

  steer(taskId: string, message: SteerMessage): void {
    this.#inner?.steer(taskId, message);
  }

  stop(taskId: string, reason: 'cancel' | 'timeout'): void {
    this.#inner?.stop(taskId, reason);
  }

  kill(taskId: string, reason: string): void {
    this.#inner?.kill(taskId, reason);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#loading;
    await this.#inner?.close();
  }
}
