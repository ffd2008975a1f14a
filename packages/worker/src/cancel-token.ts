import { StopRequested } from './errors.js';
import { CONTROL, STOP_CANCEL, STOP_TIMEOUT } from './protocol.js';

/**
 * The worker's view of "should I stop?". Two paths reach it, and both are needed:
 * - the shared flag, read with one `Atomics.load`, so a synchronous loop sees a cancel without yielding;
 * - a `cancel` message on the port, which wakes an idle event loop so that awaited work (HTTP, timers) is
 *   aborted through {@link CancelToken.signal} at once rather than at the next checkpoint.
 * The parent always sets the flag before posting, so whichever arrives first finds the reason in the flag.
 */
export class CancelToken {
  readonly #control: Int32Array;
  readonly #controller = new AbortController();

  constructor(control: Int32Array) {
    this.#control = control;
  }

  /** Aborted once a stop is seen; handed to every model call and tool `run`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** `'cancel'`, `'timeout'`, or `undefined` while the task may run on. */
  get reason(): 'cancel' | 'timeout' | undefined {
    const value = Atomics.load(this.#control, CONTROL.stop);
    if (value === STOP_CANCEL) return 'cancel';
    if (value === STOP_TIMEOUT) return 'timeout';
    return undefined;
  }

  /** True once the parent asked for a stop; aborts {@link signal} the first time it sees one. */
  requested(): boolean {
    const reason = this.reason;
    if (reason === undefined) return false;
    if (!this.#controller.signal.aborted) this.#controller.abort(this.error());
    return true;
  }

  /**
   * Marks the task as inside (or out of) a tool's synchronous code, in the control block: if the thread stops
   * yielding meanwhile, the host knows which task to leave on it (`CONTROL.busy`).
   */
  busy(inside: boolean): void {
    Atomics.store(this.#control, CONTROL.busy, inside ? 1 : 0);
  }

  /** Throws {@link StopRequested} when a stop was asked for. */
  throwIfRequested(): void {
    if (this.requested()) throw this.error();
  }

  error(): StopRequested {
    return this.reason === 'timeout'
      ? new StopRequested('timeout', 'task timed out')
      : new StopRequested('cancelled', 'task cancelled');
  }
}
