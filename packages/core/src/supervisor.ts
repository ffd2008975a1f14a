import { EventEmitter } from 'node:events';
import { Engine, type EngineParts } from './engine.js';
import { describeValue, InvalidInputError } from './errors.js';
import { bullmqParts } from './executors/remote/load-bullmq.js';
import { type Limits, resolveOptions, type SupervisorOptions } from './options.js';
import { Session } from './session.js';
import { openSqliteStore } from './stores/sqlite-store.js';
import type { SupervisorEvents } from './types.js';

/**
 * Runs delegated goals as isolated agent loops on a pool of worker threads, and hands out session views to
 * check, steer, cancel and collect them.
 *
 * @example
 * const supervisor = new Supervisor({ model: { provider: 'scripted', turns: [{ text: 'done' }] } });
 * const session = supervisor.session('user-42');
 * const id = session.delegate({ goal: 'say done' });
 * console.log((await session.collect(id)).result); // 'done'
 * await supervisor.close();
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly #engine: Engine;

  constructor(options: SupervisorOptions) {
    super();
    // The engine's emit is typed per event; EventEmitter's generic signature cannot see that through a
    // generic parameter, hence the widening here.
    const raw = this.emit as (event: string, ...args: unknown[]) => boolean;
    const emit = (event: keyof SupervisorEvents, ...args: unknown[]) => {
      try {
        return raw.call(this, event, ...args);
      } catch (error) {
        // A throwing listener is the host's bug, but the engine emits in the middle of its bookkeeping (a task
        // half-finished, a session's count not yet released), so that finishes first; the error then surfaces
        // as 'error', or as an uncaught exception when nobody listens, as from any callback.
        process.nextTick(() => raw.call(this, 'error', error));
        return true;
      }
    };
    const resolved = resolveOptions(options);
    let parts: EngineParts = {};
    if (resolved.executor.kind === 'bullmq') {
      // Throws here when @errand/redis is missing or nothing answers at the Redis URL.
      parts = bullmqParts(resolved);
    } else if (resolved.store.kind === 'sqlite') {
      // The store opens first: a locked or corrupt file throws here, before any thread is started.
      parts = {
        store: openSqliteStore(resolved.store.path, {
          retainFinished: resolved.limits.retainFinished,
          onError: (error, what) => emit('store-error', { error, message: what }),
        }),
      };
    }
    this.#engine = new Engine(resolved, emit as never, parts);
  }

  /** The limits in force, defaults included. */
  get limits(): Readonly<Limits> {
    return this.#engine.options.limits;
  }

  /** True once `close()` was called. */
  get closing(): boolean {
    return this.#engine.closing;
  }

  /**
   * The view of one session (a user, conversation or agent). Sessions never see each other's tasks. A view
   * holds no state of its own, so it is not cached: any number of session ids costs nothing until they
   * delegate.
   */
  session(sessionId: string): Session {
    if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) {
      throw new InvalidInputError(
        'sessionId',
        sessionId,
        `must be a string of 1 to 256 characters, got ${describeValue(sessionId)}`,
      );
    }
    return new Session(this.#engine, sessionId);
  }

  /**
   * Stops accepting work (`ShuttingDownError`), cancels every queued and running task (terminating workers
   * that do not stop within `graceMs`), waits for all of them to end, and destroys the pool. Leaves no timers,
   * ports or threads behind. Safe to call more than once.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    return this.#engine.close(options.graceMs);
  }
}
