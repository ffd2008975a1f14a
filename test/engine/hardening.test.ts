import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const toolsets = { hardening: fixture('hardening-toolset.mjs') };

describe('hardening (host side)', () => {
  it('moves a task off a thread that its previous task left wedged, and the wedged thread is replaced', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'wedge' }] }, { text: 'done' }], true),
      toolsets,
      pool: { maxThreads: 1, startTimeoutMs: 2_000 },
    });
    const errors: Error[] = [];
    sup.on('worker-error', (error) => errors.push(error));
    const session = sup.session('s');
    const first = await session.collect(session.delegate({ goal: 'wedge the thread' }), {
      timeoutMs: 20_000,
    });
    expect(first.status).toBe('completed');
    // The next task is handed to the wedged thread first; it must still start and finish.
    const second = await session.collect(session.delegate({ goal: 'run after the wedge', toolsets: [] }), {
      timeoutMs: 20_000,
    });
    expect(second).toMatchObject({ status: 'completed', result: 'done' });
  });

  it('keeps steering sent before a run moved to a fresh thread', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'wedge' }] }, { text: 'done' }], true),
      toolsets,
      pool: { maxThreads: 1, startTimeoutMs: 2_000 },
    });
    const session = sup.session('s');
    await session.collect(session.delegate({ goal: 'wedge the thread' }), { timeoutMs: 20_000 });
    const id = session.delegate({ goal: 'steered after the wedge', toolsets: [] });
    session.steer(id, 'hello from before the move');
    const done = await session.collect(id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: 'completed', steering: { sent: 1, delivered: 1 } });
    expect(done.preview.join('\n')).toContain('[steer #1 delivered] hello from before the move');
  });

  it('caps a huge result with a visible marker (limits.maxResultChars)', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'a'.repeat(5_000) }]),
      limits: { maxResultChars: 1_000 },
    });
    const session = sup.session('s');
    const done = await session.collect(session.delegate({ goal: 'answer at length' }));
    expect(done.status).toBe('completed');
    expect(done.result).toBe(
      `${'a'.repeat(1_000)}… [cut: 1000 of 5000 characters kept (limits.maxResultChars)]`,
    );
  });

  it('keeps the lines a tool emitted before it hung, after the hard stop', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'emitThenSpin', arguments: { lines: 10 } }] }]),
      toolsets,
      limits: { cancelGraceMs: 300 },
      pool: { outputFlushMs: 5 },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'emit then hang' });
    // The tool call line is flushed before the tool runs; the tool's own lines are what is at stake.
    for await (const line of session.stream(id)) if (line.text.startsWith('→ emitThenSpin')) break;
    const done = await session.cancel(id);
    expect(done.status).toBe('cancelled');
    expect(done.preview.filter((line) => line.startsWith('before the hang'))).toHaveLength(10);
  });

  it('back-pressures a tool that writes faster than the host takes it in: host memory stays bounded', async () => {
    const sup = supervisor({
      model: scripted([
        { toolCalls: [{ name: 'floodBig', arguments: { lines: 80_000, size: 2_000 } }] },
        { text: 'ok' },
      ]),
      toolsets,
    });
    const session = sup.session('s');
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    // The host is slow on purpose: every output event holds the main thread for a moment.
    sup.on('task-output', () => {
      const until = Date.now() + 2;
      while (Date.now() < until) {}
      peak = Math.max(peak, process.memoryUsage().rss);
    });
    const done = await session.collect(session.delegate({ goal: 'flood 160 MB of output' }), {
      timeoutMs: 120_000,
    });
    clearInterval(sampler);
    expect(done.status).toBe('completed');
    expect(done.outputLines).toBeGreaterThanOrEqual(80_000);
    // 160 MB went through a host slower than the tool; without back-pressure the port's queue held most of it
    // at once (measured: +190 MB RSS), with it the worker waits (+60 MB).
    expect((peak - before) / 1024 / 1024).toBeLessThan(110);
  }, 120_000);

  it('ends a thread that holds too much memory outside the heap, and the pool carries on', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'hoardBuffers' }] }]),
      toolsets,
      pool: { maxThreads: 1, maxExternalMb: 64 },
    });
    const session = sup.session('s');
    const done = await session.collect(session.delegate({ goal: 'hoard buffers' }), { timeoutMs: 60_000 });
    expect(done).toMatchObject({
      status: 'failed',
      exitReason: 'crashed',
      error: { code: 'worker_crashed' },
    });
    expect(done.error?.message).toMatch(
      /out of memory: \d+ MB held outside the heap .*pool\.maxExternalMb = 64/,
    );
    const next = await session.collect(session.delegate({ goal: 'after', toolsets: [] }), {
      timeoutMs: 60_000,
    });
    expect(next.status).toBe('failed'); // the scripted model calls hoardBuffers again, which is not offered now
  });
});
