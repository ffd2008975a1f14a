import { Worker } from 'node:worker_threads';
import { DEFAULT_MAX_THREADS, type PoolOptions, Supervisor, type SupervisorOptions } from '@errand/core';
import { fixture, gc, loopDelayP99, percentile, quick, type Result, sleep } from '../harness.js';
import { cpuTurns, inProcess, medianWallMs, runAgents, warm } from './cpu.js';
import { type Crowd, crowd } from './crowd.js';

const waitModel = (options: Record<string, unknown>): SupervisorOptions['model'] => ({
  provider: 'module',
  specifier: fixture('wait-model'),
  options,
});

/**
 * Many agents per host (issue 14): crowds of model-waiting agents on a few threads against thread-per-agent,
 * a fresh thread's first task beside a bare `new Worker`, the responsiveness and parallel-CPU rows with no pool
 * options at all, and co-tenants surviving a hard cancel on their thread.
 */
export async function scale(): Promise<Result[]> {
  const results: Result[] = [];
  const idle = await loopDelayP99(() => sleep(quick ? 300 : 1_000));
  const threads = DEFAULT_MAX_THREADS;
  const turn = quick ? { turns: 2, minMs: 50, maxMs: 150 } : { turns: 5, minMs: 1_000, maxMs: 5_000 };
  for (const agents of quick ? [20] : [100, 1_000]) {
    const shared = await crowd(agents, waitModel(turn), {
      maxThreads: threads,
      agentsPerThread: Math.ceil(agents / threads),
    });
    // Thread per agent only where it fits: ~14 MB a thread, so 1,000 would want ~14 GB.
    const alone = agents <= 100 ? await crowd(agents, waitModel(turn), { maxThreads: agents }) : undefined;
    results.push(...crowdRows(agents, threads, idle, shared, alone));
  }
  results.push(...(await coldStart()));
  results.push(...(await defaults(idle)));
  results.push(await survival());
  return results;
}

function crowdRows(
  agents: number,
  threads: number,
  idle: number,
  shared: Crowd,
  alone: Crowd | undefined,
): Result[] {
  const label = `${agents} model-waiting agents on ${threads} thread${threads === 1 ? '' : 's'}`;
  const baseline = (value: number | undefined) =>
    alone && value !== undefined ? { baseline: { name: 'agentsPerThread: 1', value } } : {};
  const perAgentMb = shared.rssPerAgentMb;
  return [
    {
      suite: 'scale',
      metric: `RSS per agent over the idle supervisor, ${label}`,
      value: perAgentMb,
      unit: 'MB',
      ...baseline(alone?.rssPerAgentMb),
      ...(alone ? { ratio: perAgentMb / alone.rssPerAgentMb } : {}),
      target: agents >= 1_000 ? '≤ 1.5 MB' : 'report',
      met: agents >= 1_000 ? perAgentMb <= 1.5 : true,
    },
    {
      suite: 'scale',
      metric: `host event-loop p99 while ${label} run`,
      value: shared.loopP99,
      unit: 'ms',
      baseline: {
        name: `idle${alone ? `; agentsPerThread 1: ${alone.loopP99.toFixed(2)} ms` : ''}`,
        value: idle,
      },
      ratio: shared.loopP99 / idle,
      target: '≤ 1.5× idle p99',
      met: shared.loopP99 / idle <= 1.5,
    },
    {
      suite: 'scale',
      metric: `delegate() p99 while ${label} run`,
      value: shared.delegateP99Us,
      unit: 'µs',
      ...baseline(alone?.delegateP99Us),
      target: 'report',
    },
    {
      suite: 'scale',
      metric: `time until all ${agents} started, ${label}`,
      value: shared.allStartedMs,
      unit: 'ms',
      ...baseline(alone?.allStartedMs),
      ...(alone ? { ratio: shared.allStartedMs / alone.allStartedMs } : {}),
      target: `all completed: ${shared.completed}/${agents}`,
      met: shared.completed === agents && (alone ? alone.completed === agents : true),
    },
  ];
}

/** A fresh thread's first task, delegate() → task-start, beside a bare `new Worker` start (first message). */
async function coldStart(): Promise<Result[]> {
  const rounds = quick ? 2 : 7;
  const errand: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = performance.now();
    await new Promise<void>((resolve, reject) => {
      const worker = new Worker("require('node:worker_threads').parentPort.postMessage('up')", {
        eval: true,
      });
      worker.once('message', () => {
        bare.push(performance.now() - before);
        void worker.terminate().then(() => resolve());
      });
      worker.once('error', reject);
    });
    const supervisor = new Supervisor({
      model: { provider: 'scripted', turns: [{ text: 'ok' }] },
      pool: { minThreads: 0 },
    });
    gc();
    const started = new Promise<number>((resolve) =>
      supervisor.once('task-start', () => resolve(performance.now())),
    );
    const delegated = performance.now();
    supervisor.session('cold').delegate({ goal: 'first' });
    errand.push((await started) - delegated);
    await supervisor.close();
  }
  const median = percentile(errand, 50);
  return [
    {
      suite: 'scale',
      metric: `cold start: first task's delegate() → start on a fresh thread (median of ${rounds})`,
      value: median,
      unit: 'ms',
      baseline: { name: 'bare new Worker → first message', value: percentile(bare, 50) },
      ratio: median / percentile(bare, 50),
      target: '≤ 100 ms',
      met: median <= 100,
    },
  ];
}

/** The responsiveness and parallel-CPU rows again, on a supervisor given no pool options. */
async function defaults(idle: number): Promise<Result[]> {
  const results: Result[] = [];
  const bench = { bench: fixture('bench-toolset') };
  const open = (turns: unknown[]) =>
    new Supervisor({
      model: { provider: 'scripted', turns: turns as never, loop: false },
      toolsets: bench,
      limits: { maxTasksPerSession: 100_000 },
    });
  const slices = quick ? 10 : 40;
  const busy = open(cpuTurns(slices));
  await warm(busy, 2);
  const p99 = await loopDelayP99(() => runAgents(busy, 8, slices));
  await busy.close();
  results.push({
    suite: 'scale',
    metric: 'defaults: event-loop p99 with 8 CPU-heavy agents, no pool options',
    value: p99,
    unit: 'ms',
    baseline: { name: 'idle', value: idle },
    ratio: p99 / idle,
    target: '≤ 1.5× idle p99',
    met: p99 / idle <= 1.5,
  });
  const cpuSlices = quick ? 10 : 20;
  const rounds = quick ? 1 : 5;
  await inProcess(1, cpuSlices, 0);
  for (const agents of quick ? [2] : [2, 4, 8]) {
    const inProcessMs = await medianWallMs(rounds, () => inProcess(agents, cpuSlices, 0));
    const supervisor = open(cpuTurns(cpuSlices, 0));
    await warm(supervisor, 2);
    const errandMs = await medianWallMs(rounds, () => runAgents(supervisor, agents, cpuSlices));
    await supervisor.close();
    results.push({
      suite: 'scale',
      metric: `defaults: wall time, ${agents} CPU-bound agents (${cpuSlices * 10} ms CPU each), no pool options`,
      value: errandMs,
      unit: 'ms',
      baseline: { name: 'in-process', value: inProcessMs },
      ratio: inProcessMs / errandMs,
      target: '≥ 1.8× speedup',
      met: inProcessMs / errandMs >= 1.8,
    });
  }
  return results;
}

/** Hard-cancel one agent on a thread shared with 15 others: all 15 complete, their conversations intact. */
async function survival(): Promise<Result> {
  const tenants = 15;
  const supervisor = new Supervisor({
    model: waitModel({ turns: 4, minMs: 5, maxMs: 20, holdAt: 2 }),
    models: { hang: { provider: 'scripted', turns: [{ toolCalls: [{ name: 'hang', arguments: {} }] }] } },
    toolsets: { bench: fixture('bench-toolset') },
    pool: { maxThreads: 1, agentsPerThread: tenants + 1 } satisfies PoolOptions,
    limits: { cancelGraceMs: 200, maxTasksPerSession: 100 },
  });
  const session = supervisor.session('survival');
  const ids = Array.from({ length: tenants }, (_, index) =>
    session.delegate({ goal: `tenant ${index}`, toolsets: ['bench'] }),
  );
  while (!ids.every((id) => session.check(id).iterations >= 2)) await sleep(10);
  const culprit = session.delegate({ goal: 'spin', model: 'hang', toolsets: ['bench'] });
  for await (const line of session.stream(culprit)) if (line.text.startsWith('→ hang')) break;
  const cancelled = performance.now();
  const culpritEnd = await session.cancel(culprit);
  const ends = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 60_000 })));
  const recoveredMs = performance.now() - cancelled;
  await supervisor.close();
  const intact = ends.filter(
    (end) => end.status === 'completed' && end.result === 'saw 4 turns; 2 before a move',
  ).length;
  return {
    suite: 'scale',
    metric: `co-tenant survival: hard-cancel 1 of 16 on a thread (grace 200 ms); tenants completed with conversations intact, in ${Math.round(recoveredMs)} ms`,
    value: intact,
    unit: `of ${tenants}`,
    target: `${tenants} of ${tenants}, culprit cancelled`,
    met: intact === tenants && culpritEnd.status === 'cancelled',
  };
}
