import { workerEntryUrl } from '@errand/worker/protocol';
import { Piscina } from 'piscina';
import type { ResolvedOptions } from '../../options.js';

/** What a submitted task carries (under Piscina's `queueOptionsSymbol`) so the balancer can say where it went. */
export interface Placement {
  /** Called once, with the id of the thread the task was posted to. */
  placed(threadId: number): void;
}

/** The balancer's view of which threads may take new tasks. */
export interface PoolRoster {
  /** A thread the executor is ending: nothing new goes there. */
  ending(threadId: number): boolean;
}

/**
 * The worker pool, with settings measured on Node 20:
 * - `atomics: 'disabled'`: the default parks idle workers in `Atomics.wait`, so a task's port listeners and
 *   timers would never run between tasks;
 * - `concurrentTasksPerWorker: pool.agentsPerThread`: agents mostly wait on their model, so several share a
 *   thread. Tasks carry no abort signal (Piscina gives a task with one a thread of its own): the executor
 *   ends a thread itself, and moves the other tasks on it elsewhere;
 * - a balancer that spreads before it shares (an idle thread first, then a new thread while the pool has fewer
 *   than `maxThreads` healthy ones, then the least busy), skips threads being ended or stalled, and tells the
 *   executor which thread took each task; with shared threads Piscina may start one spare thread, where the
 *   co-tenants of a stalled thread go;
 * - a long `idleTimeout`: a thread costs ~27 ms to start;
 * - `niceIncrement`: worker threads run at a lower CPU priority than the host. With 4 plain busy threads on
 *   2 cores this took the main thread's event-loop p99 from 4.1 ms to 1.2 ms (idle level); with errand's
 *   CPU agents the p99 stayed at ~7 ms either way (see BENCHMARKS.md), so something other than the workers'
 *   own CPU time still delays the host there;
 * - the engine hands Piscina at most `maxThreads × agentsPerThread` tasks at a time and keeps the rest in its
 *   own fair queue, so Piscina's queue stays empty but for tasks waiting on a thread that is starting.
 * Our own limits gate the queue before `run()`; Piscina's `maxQueue` is a backstop at the same size.
 */
export function createPool({ pool, limits }: ResolvedOptions, roster: PoolRoster): Piscina {
  const { maxThreads, agentsPerThread } = pool;
  return new Piscina({
    filename: workerEntryUrl.href,
    // One thread more than the agents get in normal running, when threads are shared: the runs a stalled
    // thread's co-tenants move to need somewhere to go even when `maxThreads` is 1.
    maxThreads: agentsPerThread > 1 ? maxThreads + 1 : maxThreads,
    minThreads: pool.minThreads,
    idleTimeout: pool.idleTimeoutMs,
    maxQueue: limits.maxQueued,
    concurrentTasksPerWorker: agentsPerThread,
    atomics: 'disabled',
    niceIncrement: pool.niceIncrement,
    resourceLimits: pool.resourceLimits,
    loadBalancer: (task, workers) => {
      const healthy = workers.filter(
        (worker) => !worker.terminating && !worker.destroyed && !roster.ending(worker.id),
      );
      // At most `maxThreads` threads run agents: once that many are busy, only they take more. The one past
      // them is the spare (Piscina starts it eagerly for a burst): it takes runs only in place of a thread
      // that stalled or is being ended.
      const busy = healthy.filter((worker) => worker.currentUsage > 0);
      const candidates = busy.length >= maxThreads ? busy : healthy;
      let best: (typeof workers)[number] | null = null;
      for (const worker of candidates) {
        const usage = worker.currentUsage;
        if (usage < agentsPerThread && (!best || usage < best.currentUsage)) best = worker;
      }
      // Spread before sharing: a busy thread takes another agent only once the pool has `maxThreads` healthy
      // threads (Piscina starts one when the balancer declines and it is below its own maxThreads).
      if (best && best.currentUsage > 0 && healthy.length < maxThreads) return null;
      if (best)
        (task as unknown as Record<symbol, Placement | null>)[Piscina.queueOptionsSymbol]?.placed(best.id);
      return best;
    },
  });
}
