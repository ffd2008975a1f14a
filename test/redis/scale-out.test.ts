import { createServer, type Socket } from 'node:net';
import { DEFAULT_AGENTS_PER_THREAD, DEFAULT_MAX_THREADS, Supervisor } from '@errand/core';
import { afterEach, expect, it } from 'vitest';
import { fixture } from '../helpers.js';
import {
  cleanUp,
  describeRedis,
  newQueue,
  pidsIn,
  startWorker,
  supervisorOn,
  workerConfig,
} from './cluster.js';

afterEach(cleanUp);

describeRedis('scale-out on BullMQ', () => {
  it('runs 50 tasks across two worker processes, and a second supervisor collects them', async () => {
    const queue = newQueue('fifty');
    const config = workerConfig();
    const workers = await Promise.all([
      startWorker(queue, config, ['--concurrency', '4']),
      startWorker(queue, config, ['--concurrency', '4']),
    ]);
    const first = supervisorOn(queue, { limits: { maxTasksPerSession: 100 } });
    const session = first.session('fifty');
    const ids = Array.from({ length: 50 }, (_, index) =>
      session.delegate({ goal: `task ${index}`, model: 'whoami' }),
    );
    const snapshots = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 60_000 })));
    expect(snapshots.map((snapshot) => snapshot.status)).toEqual(ids.map(() => 'completed'));
    const pids = new Set(snapshots.flatMap((snapshot) => pidsIn(snapshot.preview)));
    expect(pids).toEqual(new Set(workers.map((worker) => worker.pid)));

    const second = supervisorOn(queue);
    const other = second.session('fifty');
    // The view loads asynchronously; collect waits for the record to arrive.
    await expect.poll(() => other.list().length, { timeout: 10_000 }).toBe(50);
    const again = await other.collect(ids[7]!, { timeoutMs: 10_000 });
    expect(again.status).toBe('completed');
    expect(again.result).toBe('done');
    expect(second.session('someone-else').list()).toEqual([]);
    expect(() => second.session('someone-else').check(ids[7]!)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  }, 120_000);

  it('takes as many jobs at once as its pool runs when --concurrency is not given', async () => {
    const sized = await startWorker(
      newQueue('capacity'),
      workerConfig({ pool: { maxThreads: 2, agentsPerThread: 3 } }),
    );
    expect(sized.stderr()).toContain('concurrency 6,');
    const defaults = await startWorker(newQueue('capacity-default'), workerConfig());
    expect(defaults.stderr()).toContain(`concurrency ${DEFAULT_MAX_THREADS * DEFAULT_AGENTS_PER_THREAD},`);
  }, 60_000);

  it('ends a goal naming a toolset or profile the worker does not have invalid_input', async () => {
    const queue = newQueue('refuse');
    await startWorker(queue, workerConfig());
    const session = supervisorOn(queue).session('s');
    const badToolset = session.delegate({ goal: 'x', toolsets: ['nope'] });
    const badModel = session.delegate({ goal: 'x', model: 'gpt-nope' });
    const [toolset, model] = await Promise.all([
      session.collect(badToolset, { timeoutMs: 20_000 }),
      session.collect(badModel, { timeoutMs: 20_000 }),
    ]);
    expect(toolset.status).toBe('failed');
    expect(toolset.error?.code).toBe('invalid_input');
    expect(toolset.error?.message).toMatch(/"nope".*allowed: whoami, echo/);
    expect(model.error?.code).toBe('invalid_input');
    expect(model.error?.message).toMatch(/"gpt-nope"/);
  }, 60_000);

  it('steers and cancels across processes: delivered receipts, cancel within grace + 500 ms', async () => {
    const queue = newQueue('control');
    await startWorker(queue, workerConfig());
    const supervisor = supervisorOn(queue, { limits: { cancelGraceMs: 1_000 } });
    const session = supervisor.session('s');
    const id = session.delegate({ goal: 'loop', model: 'forever' });
    await expect.poll(() => session.check(id).status, { timeout: 20_000 }).toBe('running');
    const delivered = new Promise<number>((resolve) =>
      supervisor.on('steer-delivered', (event) => {
        if (event.taskId === id) resolve(event.seq);
      }),
    );
    expect(session.steer(id, 'focus on the tests').seq).toBe(1);
    expect(await delivered).toBe(1);
    expect(session.check(id).steering).toEqual({ sent: 1, delivered: 1 });
    const asked = Date.now();
    const cancelled = await session.cancel(id);
    expect(cancelled.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(1_000 + 500);
  }, 60_000);

  it('lets a second supervisor steer and cancel the first one’s task, and hear its events', async () => {
    const queue = newQueue('second');
    await startWorker(queue, workerConfig());
    const first = supervisorOn(queue).session('s');
    const watcher = supervisorOn(queue);
    const second = watcher.session('s');
    const completions = second.completions();
    const events: string[] = [];
    watcher.on('task-start', (snapshot) => events.push(`start ${snapshot.id}`));
    watcher.on('task-end', (snapshot) => events.push(`end ${snapshot.id} ${snapshot.status}`));
    const delivered = new Promise<number>((resolve) =>
      watcher.on('steer-delivered', (event) => resolve(event.seq)),
    );
    const id = first.delegate({ goal: 'loop', model: 'forever' });
    await expect
      .poll(() => second.list().find((row) => row.id === id)?.status, { timeout: 20_000 })
      .toBe('running');
    expect(second.steer(id, 'from elsewhere')).toMatchObject({ taskId: id, seq: 1, status: 'queued' });
    expect(await delivered).toBe(1);
    const cancelled = await second.cancel(id);
    expect(cancelled.status).toBe('cancelled');
    expect((await first.collect(id, { timeoutMs: 10_000 })).status).toBe('cancelled');
    const next = await completions.next();
    expect(next.value).toMatchObject({ id, status: 'cancelled' });
    expect(events).toEqual([`start ${id}`, `end ${id} cancelled`]);
  }, 60_000);

  it('leaves tasks running on the workers when the supervisor that delegated them closes at once', async () => {
    const queue = newQueue('close');
    await startWorker(queue, workerConfig());
    const leaving = supervisorOn(queue);
    const ids = [0, 1, 2].map((index) =>
      leaving.session('s').delegate({ goal: `${index}`, model: 'whoami' }),
    );
    await leaving.close();
    const session = supervisorOn(queue).session('s');
    await expect.poll(() => session.list().length, { timeout: 10_000 }).toBe(3);
    const snapshots = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 20_000 })));
    expect(snapshots.map((snapshot) => snapshot.status)).toEqual(['completed', 'completed', 'completed']);
  }, 60_000);

  it('keeps exact line counts and the same output as the local executor', async () => {
    const queue = newQueue('lines');
    await startWorker(queue, workerConfig());
    const remote = supervisorOn(queue).session('s');
    const id = remote.delegate({ goal: 'lines', model: 'lines' });
    const far = await remote.collect(id, { timeoutMs: 30_000 });
    const local = new Supervisor({
      model: {
        provider: 'scripted',
        turns: [{ toolCalls: [{ name: 'lines', arguments: { count: 5_000 } }] }, { text: 'done' }],
      },
      toolsets: { whoami: fixture('whoami-toolset.mjs'), echo: fixture('echo-toolset.mjs') },
      pool: { maxThreads: 1, minThreads: 0 },
    });
    try {
      const session = local.session('s');
      const near = await session.collect(session.delegate({ goal: 'lines' }), { timeoutMs: 30_000 });
      expect(far.status).toBe('completed');
      expect(far.outputLines).toBe(near.outputLines);
      expect(far.droppedLines).toBe(near.droppedLines);
      expect(far.preview).toEqual(near.preview);
      expect(far.outputLines).toBeGreaterThan(5_000);
    } finally {
      await local.close();
    }
  }, 60_000);

  it('times a task out across processes', async () => {
    const queue = newQueue('timeout');
    await startWorker(queue, workerConfig());
    const session = supervisorOn(queue, { limits: { cancelGraceMs: 500 } }).session('s');
    const started = Date.now();
    const id = session.delegate({ goal: 'loop', model: 'forever', timeoutMs: 1_000 });
    const snapshot = await session.collect(id, { timeoutMs: 20_000 });
    expect(snapshot.status).toBe('timed_out');
    expect(snapshot.error?.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('streams another supervisor’s running task, to its end', async () => {
    const queue = newQueue('stream');
    await startWorker(queue, workerConfig());
    const first = supervisorOn(queue).session('s');
    const second = supervisorOn(queue).session('s');
    const id = first.delegate({ goal: 'steady', model: 'steady' });
    await expect
      .poll(() => second.list().find((row) => row.id === id)?.status, { timeout: 20_000 })
      .toBe('running');
    const lines: string[] = [];
    for await (const line of second.stream(id)) lines.push(line.text);
    const done = await first.collect(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('completed');
    expect(lines.length).toBe(done.outputLines);
    expect(lines.at(-1)).toBe(done.preview.at(-1));
  }, 60_000);

  it('fails fast, naming the URL, when Redis is unreachable', async () => {
    const started = Date.now();
    let failure: Error | undefined;
    try {
      const supervisor = supervisorOn('unreachable', {
        executor: { kind: 'bullmq', connection: 'redis://127.0.0.1:1', queue: 'unreachable' },
      });
      const id = supervisor.session('s').delegate({ goal: 'x' });
      const snapshot = await supervisor.session('s').collect(id, { timeoutMs: 5_000 });
      failure = new Error(snapshot.error?.message);
    } catch (error) {
      failure = error as Error;
    }
    expect(failure?.message).toMatch(/redis:\/\/127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails the first delegate within 5 s, naming the URL, when Redis accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const url = `redis://127.0.0.1:${port}`;
    try {
      const started = Date.now();
      const supervisor = supervisorOn('silent', {
        executor: { kind: 'bullmq', connection: url, queue: 'silent' },
      });
      const session = supervisor.session('s');
      const id = session.delegate({ goal: 'x' });
      const snapshot = await session.collect(id, { timeoutMs: 5_000 });
      expect(snapshot.status).toBe('failed');
      expect(snapshot.error?.code).toBe('unavailable');
      expect(snapshot.error?.message).toContain(url);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(() => session.delegate({ goal: 'y' })).toThrow(url);
      const closing = Date.now();
      await supervisor.close();
      expect(Date.now() - closing).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
