/**
 * Which runs share which worker thread, and why a thread died: several agents share a thread
 * (`pool.agentsPerThread`), and when one of them ends it (a hard cancel, `process.exit`, out of memory) only
 * that one — the culprit — fails; the others move to another thread. Pure bookkeeping, no threads or ports.
 */

/** Why a thread ended, as the runs on it are told. */
export interface ThreadDeath<Run> {
  /** The run that ended the thread, when it is known. */
  culprit: Run | undefined;
  /** For the moved runs' output line, e.g. "task 3f… was stopped hard". */
  why: string;
  /** Runs on the thread when it died: one alone on its thread is the culprit, whatever happened. */
  tenants: number;
}

/** The thread-side facts a run reports, from which a death's culprit is found. */
export interface Tenant {
  readonly taskId: string;
  /** Set when the worker said it is ending its thread (out of memory outside the heap). */
  fatal: string | undefined;
  /**
   * How the task's own code ended the thread (`process.exit(3)`, an uncaught error), when the worker named it
   * from `process.on('exit')`.
   */
  exiting: string | undefined;
}

export class Tenancy<Run extends Tenant> {
  readonly #threads = new Map<number, Set<Run>>();
  readonly #deaths = new Map<number, ThreadDeath<Run>>();
  readonly #stalled = new Set<number>();

  /** Records that `run` went to `threadId`. */
  place(run: Run, threadId: number): void {
    const tenants = this.#threads.get(threadId) ?? new Set<Run>();
    this.#threads.set(threadId, tenants);
    tenants.add(run);
  }

  /** Forgets `run` (it settled or moved); forgets the thread's death once its last run has been told. */
  leave(run: Run, threadId: number | undefined): void {
    if (threadId === undefined) return;
    const tenants = this.#threads.get(threadId);
    tenants?.delete(run);
    if (tenants?.size === 0) this.#threads.delete(threadId);
  }

  tenants(threadId: number | undefined): ReadonlySet<Run> {
    return (threadId === undefined ? undefined : this.#threads.get(threadId)) ?? new Set();
  }

  /** The executor is ending this thread itself, for this reason. Nothing new is placed on it. */
  end(threadId: number, culprit: Run | undefined, why: string): void {
    if (this.#deaths.has(threadId)) return;
    this.#deaths.set(threadId, { culprit, why, tenants: this.tenants(threadId).size });
  }

  /** True once the executor is ending the thread (or it died). */
  dying(threadId: number): boolean {
    return this.#deaths.has(threadId);
  }

  /** True for a thread being ended, or stalled: nothing new is placed on it. */
  ending(threadId: number): boolean {
    return this.#deaths.has(threadId) || this.#stalled.has(threadId);
  }

  /** A run on this thread keeps it from yielding: its other runs have moved, and nothing new goes there. */
  stall(threadId: number): void {
    this.#stalled.add(threadId);
  }

  stalled(threadId: number | undefined): boolean {
    return threadId !== undefined && this.#stalled.has(threadId);
  }

  /** The thread yields again (a message from it arrived): it may take new runs. */
  unstall(threadId: number): void {
    this.#stalled.delete(threadId);
  }

  /** Drops a dead thread's record once Piscina has reported all its runs. */
  buried(threadId: number): void {
    this.#deaths.delete(threadId);
    this.#stalled.delete(threadId);
  }

  /**
   * Why the thread died, decided once, when the first of its runs is reported failed (after every run's port
   * has been read): the executor's own reason if it ended the thread, else the run that said it is ending it
   * (`fatal`, `exiting`), else unknown (`detail` is Piscina's error).
   */
  death(threadId: number, detail: string): ThreadDeath<Run> {
    const known = this.#deaths.get(threadId);
    if (known) return known;
    const tenants = this.tenants(threadId);
    let death: ThreadDeath<Run> = {
      culprit: undefined,
      why: `its thread crashed (${detail})`,
      tenants: tenants.size,
    };
    for (const run of tenants) {
      if (run.fatal !== undefined)
        death = {
          culprit: run,
          why: `task ${run.taskId} ended the thread: ${run.fatal}`,
          tenants: tenants.size,
        };
      else if (run.exiting !== undefined && death.culprit === undefined)
        death = {
          culprit: run,
          why: `task ${run.taskId} ended the thread (${run.exiting})`,
          tenants: tenants.size,
        };
    }
    this.#deaths.set(threadId, death);
    return death;
  }
}
