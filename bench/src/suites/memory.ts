import { gc, percentile, quick, type Result, scriptedSupervisor } from '../harness.js';

/** Heap per retained finished task with full ring buffers, and no growth after eviction; delegate() at queue depth. */
export async function memory(): Promise<Result[]> {
  const retain = quick ? 200 : 1_000;
  const total = quick ? 2_000 : 10_000;
  const supervisor = scriptedSupervisor(
    [{ toolCalls: [{ name: 'firehose', arguments: { lines: 210, width: 500 } }] }, { text: 'done' }],
    {
      limits: { retainFinished: retain },
      pool: { maxThreads: 4, minThreads: 4 },
    },
  );
  const session = supervisor.session('memory');
  const run = async (count: number) => {
    for (let done = 0; done < count; done += 200) {
      const ids = Array.from({ length: Math.min(200, count - done) }, () =>
        session.delegate({ goal: 'fill', toolsets: ['bench'] }),
      );
      await Promise.all(ids.map((id) => session.collect(id, { previewLines: 0 })));
    }
  };
  gc();
  const empty = process.memoryUsage().heapUsed;
  await run(total);
  gc();
  const afterFirst = process.memoryUsage().heapUsed;
  await run(total);
  gc();
  const afterSecond = process.memoryUsage().heapUsed;
  await supervisor.close();
  const perTaskKb = (afterFirst - empty) / retain / 1024;
  const growthMb = (afterSecond - afterFirst) / 1_048_576;

  const queued = scriptedSupervisor([{ text: 'slow', delayMs: 60_000 }], {
    pool: { maxThreads: 1, minThreads: 1 },
  });
  const queue = queued.session('scale');
  const timeDelegates = (count: number) => {
    const calls: number[] = [];
    for (let index = 0; index < count; index++) {
      const before = performance.now();
      queue.delegate({ goal: 'q' });
      calls.push((performance.now() - before) * 1000);
    }
    return calls;
  };
  // 1,000 calls per sample so that p99 is the 10th slowest call, not the single worst; a forced GC before each
  // sample keeps a collection owed by earlier allocation from being charged to the queue depth.
  const sample = quick ? 200 : 1_000;
  const depth = quick ? 2_000 : 10_000;
  timeDelegates(100);
  gc();
  const shallow = percentile(timeDelegates(sample), 99);
  timeDelegates(depth - 100 - sample);
  gc();
  const deep = percentile(timeDelegates(sample), 99);
  await queued.close({ graceMs: 0 });
  return [
    {
      suite: 'memory',
      metric: `heap per retained task (${total} finished, ${retain} kept, 210 lines × 500 chars each)`,
      value: perTaskKb,
      unit: 'KB',
      target: '≤ 150 KB',
      met: perTaskKb <= 150,
    },
    {
      suite: 'memory',
      metric: `heap growth over ${total} more tasks (after eviction)`,
      value: growthMb,
      unit: 'MB',
      target: 'no growth',
      met: growthMb < 10,
    },
    {
      suite: 'scale',
      metric: `delegate() p99 at ${depth} queued (${sample} calls)`,
      value: deep,
      unit: 'µs',
      baseline: { name: '100 queued', value: shallow },
      ratio: deep / shallow,
      target: '≤ 2×',
      met: deep / shallow <= 2,
    },
  ];
}
