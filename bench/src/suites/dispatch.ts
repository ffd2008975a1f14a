import { MessageChannel } from 'node:worker_threads';
import { CONTROL, type TaskPayload, workerEntryUrl } from '@errand/worker/protocol';
import { Piscina } from 'piscina';
import { Bench } from 'tinybench';
import { percentile, quick, type Result, scriptedSupervisor } from '../harness.js';

const THREADS = 4;

function payload(index: number): { payload: TaskPayload; port: MessageChannel['port2'] } {
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  return {
    port: port2,
    payload: {
      taskId: `raw-${index}`,
      sessionId: 'raw',
      goal: 'g',
      toolsets: {},
      model: { provider: 'scripted', turns: [{ text: 'ok' }] },
      maxIterations: 1,
      port: port2,
      control: new SharedArrayBuffer(CONTROL.length * 4),
      batchSize: 64,
      flushMs: 16,
      maxToolResultChars: 20_000,
      maxCheckpointChars: 2_000_000,
      maxExternalBytes: 512 * 1024 * 1024,
    },
  };
}

/** Trivial one-turn tasks through errand vs the same entry through plain `pool.run`; delegate and check costs. */
export async function dispatch(): Promise<Result[]> {
  const tasks = quick ? 500 : 5_000;
  // Both sides get the same untimed round first, so steady-state throughput is compared rather than JIT warm-up
  // (a first round of 5,000 through errand ran at ~60% of the rounds after it).
  const warmUp = quick ? 100 : 1_000;

  const raw = new Piscina({
    filename: workerEntryUrl.href,
    maxThreads: THREADS,
    minThreads: THREADS,
    atomics: 'disabled',
    concurrentTasksPerWorker: 1,
  });
  await Promise.all(
    Array.from({ length: warmUp }, (_, index) => {
      const job = payload(index);
      return raw.run(job.payload, { transferList: [job.port] });
    }),
  );
  let start = performance.now();
  await Promise.all(
    Array.from({ length: tasks }, (_, index) => {
      const job = payload(index);
      return raw.run(job.payload, { transferList: [job.port] });
    }),
  );
  const rawPerSecond = tasks / ((performance.now() - start) / 1000);
  await raw.destroy();

  const supervisor = scriptedSupervisor([{ text: 'ok' }], {
    pool: { maxThreads: THREADS, minThreads: THREADS },
  });
  const session = supervisor.session('bench');
  await Promise.all(
    Array.from({ length: warmUp }, () => session.collect(session.delegate({ goal: 'warm' }))),
  );
  start = performance.now();
  const ids = Array.from({ length: tasks }, () => session.delegate({ goal: 'g' }));
  await Promise.all(ids.map((id) => session.collect(id)));
  const errandPerSecond = tasks / ((performance.now() - start) / 1000);
  await supervisor.close();

  // delegate() with the pool saturated by slow tasks: every call lands in the queue.
  const busy = scriptedSupervisor([{ text: 'slow', delayMs: 60_000 }], {
    pool: { maxThreads: THREADS, minThreads: THREADS },
  });
  const busySession = busy.session('bench');
  for (let index = 0; index < THREADS; index++) busySession.delegate({ goal: 'hold' });
  const calls: number[] = [];
  let checkId = '';
  for (let index = 0; index < (quick ? 1_000 : 5_000); index++) {
    const before = performance.now();
    checkId = busySession.delegate({ goal: 'queued' });
    calls.push((performance.now() - before) * 1000);
  }
  const bench = new Bench({ time: quick ? 200 : 1_000 });
  bench.add('check', () => busySession.check(checkId));
  await bench.run();
  const checkP50 = (bench.tasks[0]!.result as { latency?: { p50?: number } })?.latency?.p50 ?? Number.NaN;
  await busy.close({ graceMs: 0 });

  // Cold dispatch: bursts of 20 delegate() calls on fresh supervisors whose pool has no thread yet. Threads
  // must start after delegate() returns, never inside it.
  const cold: number[] = [];
  for (let round = 0; round < (quick ? 3 : 10); round++) {
    const fresh = scriptedSupervisor([{ text: 'ok' }], { pool: { maxThreads: 8, minThreads: 0 } });
    const freshSession = fresh.session('cold');
    const burst: string[] = [];
    for (let index = 0; index < 20; index++) {
      const before = performance.now();
      burst.push(freshSession.delegate({ goal: 'cold' }));
      cold.push((performance.now() - before) * 1000);
    }
    await Promise.all(burst.map((id) => freshSession.collect(id)));
    await fresh.close();
  }

  const ratio = errandPerSecond / rawPerSecond;
  return [
    {
      suite: 'dispatch',
      metric: 'throughput (trivial tasks/s)',
      value: errandPerSecond,
      unit: 'tasks/s',
      baseline: { name: 'raw Piscina', value: rawPerSecond },
      ratio,
      target: '≥ 0.5× raw Piscina',
      met: ratio >= 0.5,
    },
    {
      suite: 'dispatch',
      metric: 'delegate() p50, pool saturated',
      value: percentile(calls, 50),
      unit: 'µs',
      target: '≤ 50 µs',
      met: percentile(calls, 50) <= 50,
    },
    {
      suite: 'dispatch',
      metric: 'delegate() p99, pool saturated',
      value: percentile(calls, 99),
      unit: 'µs',
      target: '≤ 500 µs',
      met: percentile(calls, 99) <= 500,
    },
    {
      suite: 'dispatch',
      metric: 'cold dispatch: delegate() p99, pool with no thread yet (bursts of 20)',
      value: percentile(cold, 99),
      unit: 'µs',
      target: '≤ 500 µs',
      met: percentile(cold, 99) <= 500,
    },
    {
      suite: 'dispatch',
      metric: 'check() p50',
      value: checkP50 * 1000,
      unit: 'µs',
      target: '≤ 5 µs',
      met: checkP50 * 1000 <= 5,
    },
  ];
}
