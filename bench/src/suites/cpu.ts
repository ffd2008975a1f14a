import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import type { Supervisor } from '@errand/core';
import runTask from '@errand/worker/entry';
import { CONTROL, type TaskPayload } from '@errand/worker/protocol';
import {
  fixture,
  gc,
  loopDelayP99,
  percentile,
  quick,
  type Result,
  ROUNDS_PER_MS,
  scriptedSupervisor,
  sleep,
} from '../harness.js';

/**
 * An agent that does `slices` × 10 ms of CPU work, one tool call per slice, with `modelMs` of model latency
 * between slices (the responsiveness suite's agents wait on their model like real ones; the parallel-CPU suite's
 * are purely CPU-bound, since the in-process baseline would overlap one agent's model wait with another's work
 * and so cap the measurable speedup below the 2.0× a pure CPU load allows).
 */
export function cpuTurns(slices: number, modelMs = 1) {
  return [
    ...Array.from({ length: slices }, () => ({
      toolCalls: [{ name: 'burn', arguments: { rounds: 10 * ROUNDS_PER_MS } }],
      delayMs: modelMs,
    })),
    { text: 'done' },
  ];
}

/** The same agent on the main thread: the worker entry called directly, as a host without workers would. */
export async function inProcess(agents: number, slices: number, modelMs = 1): Promise<void> {
  await Promise.all(
    Array.from({ length: agents }, (_, index) => {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', () => {});
      const payload: TaskPayload = {
        taskId: `in-${index}`,
        sessionId: 'in',
        goal: 'cpu',
        toolsets: { bench: { specifier: fixture('bench-toolset') } },
        model: { provider: 'scripted', turns: cpuTurns(slices, modelMs) as never },
        maxIterations: slices + 1,
        port: port2,
        control: new SharedArrayBuffer(CONTROL.length * 4),
        batchSize: 64,
        flushMs: 16,
        maxToolResultChars: 20_000,
        maxCheckpointChars: 2_000_000,
        maxExternalBytes: 512 * 1024 * 1024,
      };
      return runTask(payload).finally(() => port1.close());
    }),
  );
}

/** A supervisor running `turns`, with `threads` warm threads (pool start-up and first loads not counted). */
async function warmSupervisor(turns: unknown[], threads: number) {
  const supervisor = scriptedSupervisor(turns, { pool: { maxThreads: threads, minThreads: threads } });
  await sleep(150);
  await warm(supervisor, threads);
  return supervisor;
}

/** Delegates `agents` CPU agents in one session and waits for all of them. */
export async function runAgents(supervisor: Supervisor, agents: number, slices: number): Promise<void> {
  const session = supervisor.session('cpu');
  const ids = Array.from({ length: agents }, () =>
    session.delegate({ goal: 'cpu', maxIterations: slices + 1 }),
  );
  await Promise.all(ids.map((id) => session.collect(id)));
}

/** Median wall time (ms) of `rounds` runs of `run`, each from a collected heap. */
export async function medianWallMs(rounds: number, run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    gc();
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return percentile(times, 50);
}

/**
 * Loads the toolset and JIT-compiles the tool in every thread, as the in-process baseline already is on the
 * main thread: both sides are measured warm.
 */
export async function warm(supervisor: Supervisor, threads: number): Promise<void> {
  const session = supervisor.session('warm-up');
  const ids = Array.from({ length: threads * 2 }, () =>
    session.delegate({ goal: 'warm', maxIterations: 21 }),
  );
  await Promise.all(ids.map((id) => session.collect(id)));
}

/** Main-thread event-loop delay while CPU-heavy agents run, and wall time for N CPU-bound agents. */
export async function cpu(): Promise<Result[]> {
  const results: Result[] = [];
  const slices = quick ? 10 : 40;
  const idle = await loopDelayP99(() => sleep(quick ? 300 : 1_000));
  /** Main-thread p99 while `agents` CPU-heavy agents run on `threads` worker threads (warm). */
  const underLoad = async (agents: number, threads: number) => {
    // Only the main thread's delay is measured; the worker threads carry the load.
    const supervisor = await warmSupervisor(cpuTurns(slices), threads);
    const p99 = await loopDelayP99(() => runAgents(supervisor, agents, slices));
    await supervisor.close();
    return p99;
  };
  for (const agents of quick ? [2] : [2, 4, 8]) {
    const errandP99 = await underLoad(agents, agents);
    const inProcessP99 = await loopDelayP99(() => inProcess(agents, slices));
    const ratio = errandP99 / idle;
    results.push({
      suite: 'responsiveness',
      metric: `event-loop p99 with ${agents} CPU-heavy agents`,
      value: errandP99,
      unit: 'ms',
      baseline: { name: `idle ${idle.toFixed(2)} ms; in-process`, value: inProcessP99 },
      ratio,
      target: '≤ 1.5× idle p99',
      met: ratio <= 1.5,
    });
  }
  if (!quick) {
    // The remedy BENCHMARKS.md suggests for CPU-bound agents: leave the host a core.
    const threads = Math.max(1, availableParallelism() - 1);
    const p99 = await underLoad(8, threads);
    results.push({
      suite: 'responsiveness',
      metric: `event-loop p99 with 8 CPU-heavy agents on pool.maxThreads = ${threads} (cores − 1)`,
      value: p99,
      unit: 'ms',
      baseline: { name: 'idle', value: idle },
      ratio: p99 / idle,
      target: '≤ 1.5× idle p99',
      met: p99 / idle <= 1.5,
    });
  }
  const cpuSlices = quick ? 10 : 20;
  // Medians of five runs per side: one run of a few hundred ms on a shared 2-core machine moves by ±10 %, and
  // medians of three still moved the 4-agent ratio between 1.79× and 1.94× from run to run.
  const rounds = quick ? 1 : 5;
  // Warms the in-process side on the main thread, as `warm` does the worker threads.
  await inProcess(1, cpuSlices, 0);
  for (const agents of quick ? [1, 2] : [1, 2, 4, 8, 16]) {
    const inProcessMs = await medianWallMs(rounds, () => inProcess(agents, cpuSlices, 0));
    const supervisor = await warmSupervisor(cpuTurns(cpuSlices, 0), Math.max(2, agents));
    const errandMs = await medianWallMs(rounds, () => runAgents(supervisor, agents, cpuSlices));
    await supervisor.close();
    const speedup = inProcessMs / errandMs;
    results.push({
      suite: 'parallel CPU',
      metric: `wall time, ${agents} CPU-bound agents (${cpuSlices * 10} ms CPU each, median of ${rounds})`,
      value: errandMs,
      unit: 'ms',
      baseline: { name: 'in-process', value: inProcessMs },
      ratio: speedup,
      target: agents >= 2 ? '≥ 1.8× speedup' : 'report',
      met: agents >= 2 ? speedup >= 1.8 : true,
    });
  }
  return results;
}
