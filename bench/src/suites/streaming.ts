import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { fixture, fixturePath, gc, quick, type Result, scriptedSupervisor } from '../harness.js';

/** Output lines per second from one worker into errand's ring buffer vs the same lines over a raw port. */
export async function streaming(): Promise<Result[]> {
  const lines = quick ? 100_000 : 1_000_000;
  const width = 40;

  const raw = new Piscina({
    filename: fixture('raw-port-worker'),
    maxThreads: 1,
    minThreads: 1,
    atomics: 'disabled',
  });
  await raw.run({ port: null, lines: 0, width }).catch(() => {});
  const { port1, port2 } = new MessageChannel();
  let received = 0;
  const ended = new Promise<void>((resolve) =>
    port1.on('message', (message: unknown) => {
      if (message === 'end') resolve();
      else received += (message as unknown[]).length;
    }),
  );
  let start = performance.now();
  await raw.run({ port: port2, lines, width }, { transferList: [port2] });
  await ended;
  const rawPerSecond = received / ((performance.now() - start) / 1000);
  port1.close();
  await raw.destroy();

  const supervisor = scriptedSupervisor(
    [{ toolCalls: [{ name: 'firehose', arguments: { lines, width } }] }, { text: 'done' }],
    {
      pool: { maxThreads: 1, minThreads: 1 },
    },
  );
  const session = supervisor.session('stream');
  await session.collect(session.delegate({ goal: 'warm', toolsets: [] }));
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  start = performance.now();
  const id = session.delegate({ goal: 'stream', toolsets: ['bench'] });
  const done = await session.collect(id);
  const errandPerSecond = done.outputLines / ((performance.now() - start) / 1000);
  gc();
  const heapAfterMb = (process.memoryUsage().heapUsed - heapBefore) / 1_048_576;
  await supervisor.close();
  void fixturePath;
  const ratio = errandPerSecond / rawPerSecond;
  return [
    {
      suite: 'streaming',
      metric: `lines/s into the ring buffer (${lines} lines)`,
      value: errandPerSecond,
      unit: 'lines/s',
      baseline: { name: 'raw MessagePort', value: rawPerSecond },
      ratio,
      target: '≥ 1,000,000 lines/s; ≥ 0.5× raw port',
      met: errandPerSecond >= 1_000_000 && ratio >= 0.5,
    },
    {
      suite: 'streaming',
      metric: 'heap growth after the stream (ring buffer bounded)',
      value: heapAfterMb,
      unit: 'MB',
      target: 'flat',
      met: heapAfterMb < 5,
    },
  ];
}
