import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type PoolOptions, Supervisor, type SupervisorOptions } from '@errand/core';
import { fixture, gc, percentile, sleep } from '../harness.js';

/** What one crowd of model-waiting agents cost the host. */
export interface Crowd {
  /** (peak RSS while all run − RSS of the idle supervisor) ÷ agents. */
  rssPerAgentMb: number;
  /** Host event-loop p99 from the first delegate() to the last task's end. */
  loopP99: number;
  /** p99 of delegate() calls made while the crowd runs (they queue behind it). */
  delegateP99Us: number;
  /** First delegate() → the last agent's task-start. */
  allStartedMs: number;
  completed: number;
}

/**
 * Runs `agents` agents of `model` at once on a supervisor with `pool`, and measures the host around them. The
 * supervisor's threads are started (and its first task has loaded the model and toolset) before the idle RSS
 * is taken, so the figure is what the agents add.
 */
export async function crowd(
  agents: number,
  model: SupervisorOptions['model'],
  pool: PoolOptions,
): Promise<Crowd> {
  const supervisor = new Supervisor({
    model,
    models: { quick: { provider: 'scripted', turns: [{ text: 'ok' }] } },
    toolsets: { bench: fixture('bench-toolset') },
    pool: { ...pool, minThreads: pool.maxThreads ?? 1 },
    limits: { maxTasksPerSession: 100_000, maxQueued: 100_000 },
  });
  const probes = supervisor.session('probes');
  await probes.collect(probes.delegate({ goal: 'warm', model: 'quick', toolsets: ['bench'] }), {
    timeoutMs: 60_000,
  });
  await sleep(300);
  gc();
  const idleRss = process.memoryUsage().rss;
  const session = supervisor.session('crowd');
  let started = 0;
  let lastStart = 0;
  supervisor.on('task-start', (snapshot) => {
    if (snapshot.sessionId !== 'crowd') return;
    started += 1;
    lastStart = performance.now();
  });
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const first = performance.now();
  const ids = Array.from({ length: agents }, (_, index) =>
    session.delegate({ goal: `agent ${index}`, toolsets: ['bench'] }),
  );
  const ends = Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 600_000, previewLines: 0 })));
  let peakRss = 0;
  const delegateUs: number[] = [];
  let running = true;
  void ends.finally(() => {
    running = false;
  });
  // While the crowd runs: RSS samples, and delegate() calls timed on the loaded host (queued tasks).
  while (running) {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (started >= agents && delegateUs.length < 200) {
      const before = performance.now();
      probes.delegate({ goal: 'probe', model: 'quick' });
      delegateUs.push((performance.now() - before) * 1000);
    }
    await sleep(50);
  }
  const snapshots = await ends;
  histogram.disable();
  await supervisor.close();
  return {
    rssPerAgentMb: (peakRss - idleRss) / agents / 1_048_576,
    loopP99: histogram.percentile(99) / 1e6,
    delegateP99Us: percentile(delegateUs, 99),
    allStartedMs: lastStart - first,
    completed: snapshots.filter((snapshot) => snapshot.status === 'completed').length,
  };
}
