import { workerEntryUrl } from '@errand/worker/protocol';
import { Piscina } from 'piscina';
import type { ResolvedOptions } from '../../options.js';

/**
 * The worker pool, with settings measured on Node 20:
 * - `atomics: 'disabled'`: the default parks idle workers in `Atomics.wait`, so a task's port listeners and
 *   timers would never run between tasks;
 * - `concurrentTasksPerWorker: 1`: a hard cancel terminates the whole thread, so it must hold one task only;
 * - a long `idleTimeout`: a thread costs ~27 ms to start;
 * - `niceIncrement`: worker threads run at a lower CPU priority than the host. With 4 plain busy threads on
 *   2 cores this took the main thread's event-loop p99 from 4.1 ms to 1.2 ms (idle level); with errand's
 *   CPU agents the p99 stayed at ~7 ms either way (see BENCHMARKS.md), so something other than the workers'
 *   own CPU time still delays the host there;
 * - the engine hands Piscina at most `maxThreads` tasks at a time and keeps the rest in its own fair queue,
 *   so Piscina's queue stays empty (Piscina moves tasks that carry an abort signal to an internal FIFO that
 *   a custom `taskQueue` never sees, which would defeat round-robin scheduling).
 * Our own limits gate the queue before `run()`; Piscina's `maxQueue` is a backstop at the same size.
 */
export function createPool({ pool, limits }: ResolvedOptions): Piscina {
  return new Piscina({
    filename: workerEntryUrl.href,
    maxThreads: pool.maxThreads,
    minThreads: pool.minThreads,
    idleTimeout: pool.idleTimeoutMs,
    maxQueue: limits.maxQueued,
    concurrentTasksPerWorker: 1,
    atomics: 'disabled',
    niceIncrement: pool.niceIncrement,
    resourceLimits: pool.resourceLimits,
  });
}
