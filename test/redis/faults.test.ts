import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import {
  cleanUp,
  describeRedis,
  newQueue,
  pidsIn,
  REDIS_URL,
  redisClient,
  startWorker,
  supervisorOn,
  workerConfig,
} from './cluster.js';

afterEach(cleanUp);

describeRedis('scale-out faults', () => {
  it('resumes a SIGKILLed worker’s tasks from their checkpoints on the other worker', async () => {
    const queue = newQueue('sigkill');
    const config = workerConfig();
    const fast = ['--stalled-interval-ms', '500', '--concurrency', '2'];
    const doomed = await startWorker(queue, config, fast);
    const session = supervisorOn(queue).session('s');
    const ids = [0, 1].map((index) =>
      session.delegate({ goal: `long ${index}`, model: 'long', maxIterations: 100 }),
    );
    await expect
      .poll(() => ids.every((id) => session.check(id).iterations >= 2), { timeout: 20_000 })
      .toBe(true);
    const survivor = await startWorker(queue, config, fast);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const snapshots = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 30_000 })));
    for (const snapshot of snapshots) {
      expect(snapshot.error).toBeUndefined();
      expect(snapshot.status).toBe('completed');
      expect(snapshot.result).toBe('steady done');
      const pids = new Set(pidsIn(snapshot.preview));
      expect(pids).toEqual(new Set([doomed.pid, survivor.pid]));
      // 60 tool calls in all: the resumed run went on from the checkpoint rather than starting over.
      expect(pidsIn(snapshot.preview).length).toBeLessThanOrEqual(60 + 2);
    }
  }, 90_000);

  it('ends a task with no checkpoint interrupted when its worker dies', async () => {
    const queue = newQueue('nocheckpoint');
    const config = workerConfig();
    const fast = ['--stalled-interval-ms', '500'];
    const doomed = await startWorker(queue, config, fast);
    const session = supervisorOn(queue).session('s');
    const id = session.delegate({ goal: 'one long turn', model: 'sleepy' });
    await expect.poll(() => session.check(id).status, { timeout: 20_000 }).toBe('running');
    await startWorker(queue, config, fast);
    doomed.child.kill('SIGKILL');
    const snapshot = await session.collect(id, { timeoutMs: 30_000 });
    expect(snapshot.status).toBe('interrupted');
    expect(snapshot.error?.code).toBe('interrupted');
  }, 60_000);

  it('drains on SIGTERM: finishes what it runs, takes nothing new, exits 0', async () => {
    const queue = newQueue('drain');
    const worker = await startWorker(queue, workerConfig(), ['--drain-ms', '20000']);
    const session = supervisorOn(queue).session('s');
    const id = session.delegate({ goal: 'steady', model: 'steady' });
    await expect.poll(() => session.check(id).status, { timeout: 20_000 }).toBe('running');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(session.check(id).status).toBe('completed');
    expect(worker.stderr()).toMatch(/SIGTERM: draining/);
  }, 60_000);

  it('hands back on SIGTERM after --drain-ms: the task resumes on another worker', async () => {
    const queue = newQueue('handback');
    const config = workerConfig();
    const leaving = await startWorker(queue, config, ['--drain-ms', '200']);
    const session = supervisorOn(queue).session('s');
    const id = session.delegate({ goal: 'long', model: 'long', maxIterations: 100 });
    await expect.poll(() => session.check(id).iterations, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    const staying = await startWorker(queue, config);
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    const snapshot = await session.collect(id, { timeoutMs: 30_000 });
    expect(snapshot.status).toBe('completed');
    expect(new Set(pidsIn(snapshot.preview))).toEqual(new Set([leaving.pid, staying.pid]));
  }, 60_000);

  it('loses nothing when Redis drops every connection (CLIENT KILL)', async () => {
    const queue = newQueue('clientkill');
    await startWorker(queue, workerConfig(), ['--concurrency', '4']);
    const session = supervisorOn(queue, { limits: { maxTasksPerSession: 50 } }).session('s');
    const ids = Array.from({ length: 8 }, (_, index) =>
      session.delegate({ goal: `${index}`, model: 'steady' }),
    );
    await expect
      .poll(() => session.list({ status: 'running' }).length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const admin = redisClient();
    try {
      const clients = (await admin.client('LIST')) as string;
      const ours = clients
        .split('\n')
        .filter((line) => line.includes(queue))
        .map((line) => /\bid=(\d+)/.exec(line)?.[1])
        .filter((clientId): clientId is string => clientId !== undefined);
      expect(ours.length).toBeGreaterThanOrEqual(4);
      for (const clientId of ours) await admin.client('KILL', 'ID', clientId);
    } finally {
      admin.disconnect();
    }
    const snapshots = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 60_000 })));
    expect(snapshots.map((snapshot) => snapshot.status)).toEqual(ids.map(() => 'completed'));
  }, 90_000);

  it('keeps running tasks whose supervisor was killed; a new supervisor sees them end', async () => {
    const queue = newQueue('orphans');
    await startWorker(queue, workerConfig(), ['--concurrency', '3']);
    const host = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('../fixtures/redis-delegating-host.mjs', import.meta.url)),
        REDIS_URL,
        queue,
        'steady',
        '3',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const ids = await new Promise<string[]>((resolve, reject) => {
      let text = '';
      host.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]!) as string[]);
      });
      host.on('exit', () => reject(new Error('the host exited early')));
    });
    host.kill('SIGKILL');
    const session = supervisorOn(queue).session('orphans');
    await expect.poll(() => session.list().length, { timeout: 10_000 }).toBe(3);
    const snapshots = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 30_000 })));
    expect(snapshots.map((snapshot) => snapshot.status)).toEqual(['completed', 'completed', 'completed']);
    expect(snapshots[0]!.result).toBe('steady done');
  }, 60_000);

  it('resumes a cancelled task from its checkpoint on a worker, and refuses one without a checkpoint', async () => {
    const queue = newQueue('resume');
    await startWorker(queue, workerConfig());
    const session = supervisorOn(queue).session('s');
    const id = session.delegate({ goal: 'long', model: 'long', maxIterations: 100 });
    await expect.poll(() => session.check(id).iterations, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    const stopped = await session.cancel(id);
    expect(stopped.status).toBe('cancelled');
    const resumed = session.resume(id);
    const snapshot = await session.collect(resumed, { timeoutMs: 30_000 });
    expect(snapshot).toMatchObject({ status: 'completed', result: 'steady done', resumedFrom: id });
    // It went on from the checkpoint: fewer than 60 calls on this run.
    expect(pidsIn(snapshot.preview).length).toBeLessThan(60);

    const never = session.delegate({ goal: 'one long turn', model: 'sleepy' });
    await session.cancel(never);
    expect(() => session.resume(never)).toThrow(/no checkpoint/);
  }, 60_000);

  it('errand worker exits 1 within 5 s, naming the URL, when Redis is unreachable', async () => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url)),
        'worker',
        '--redis',
        'redis://127.0.0.1:1',
        '--queue',
        'nowhere',
        '--config',
        workerConfig(),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('redis://127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
