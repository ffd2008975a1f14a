import { afterEach, expect, it } from 'vitest';
import { cleanUp, describeRedis, newQueue, startWorker, supervisorOn, workerConfig } from './cluster.js';

afterEach(cleanUp);

/** What a delegate came to: refused at once (thrown) or refused by the cluster-wide check (the task failed). */
async function outcome(
  delegate: () => string,
  collect: (id: string) => Promise<{ error?: { code: string } }>,
) {
  try {
    const id = delegate();
    const snapshot = await collect(id);
    return snapshot.error?.code ?? 'admitted';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describeRedis('scale-out limits and fair share', () => {
  it('enforces maxTasksPerSession across supervisors', async () => {
    const queue = newQueue('session-limit');
    const limits = { maxTasksPerSession: 3 };
    const first = supervisorOn(queue, { limits }).session('s');
    const second = supervisorOn(queue, { limits }).session('s');
    // No worker: every task stays queued.
    first.delegate({ goal: 'a' });
    first.delegate({ goal: 'b' });
    second.delegate({ goal: 'c' });
    await expect.poll(() => second.list().length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => first.list().length, { timeout: 10_000 }).toBe(3);
    for (const session of [first, second]) {
      const code = await outcome(
        () => session.delegate({ goal: 'one too many' }),
        (id) => session.collect(id, { timeoutMs: 5_000 }),
      );
      expect(code).toBe('limit_exceeded');
    }
    // Another session is not affected.
    expect(supervisorOn(queue, { limits }).session('t').delegate({ goal: 'fine' })).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });

  it('enforces maxTasksPerSession atomically when supervisors race', async () => {
    const queue = newQueue('session-race');
    const limits = { maxTasksPerSession: 4 };
    const sessions = [0, 1, 2, 3].map(() => supervisorOn(queue, { limits }).session('s'));
    // Each supervisor sees nothing of the others yet, so only the Lua admission can refuse.
    const ids = sessions.flatMap((session) => [
      session.delegate({ goal: 'x' }),
      session.delegate({ goal: 'y' }),
    ]);
    const refused = await Promise.all(
      ids.map((id, index) =>
        sessions[Math.floor(index / 2)]!.collect(id, { timeoutMs: 3_000 }).then(
          (snapshot) => snapshot.error?.code === 'limit_exceeded',
        ),
      ),
    );
    expect(refused.filter(Boolean).length).toBe(4);
  });

  it('enforces maxQueued across supervisors', async () => {
    const queue = newQueue('queue-limit');
    const limits = { maxQueued: 2 };
    const first = supervisorOn(queue, { limits });
    const second = supervisorOn(queue, { limits });
    first.session('a').delegate({ goal: 'a' });
    second.session('b').delegate({ goal: 'b' });
    await expect.poll(() => first.session('b').list().length + first.session('a').list().length).toBe(2);
    await expect.poll(() => second.session('a').list().length).toBe(1);
    // A session with nothing waiting may use the reserve locally, but the cluster-wide count is the bound.
    const code = await outcome(
      () => second.session('c').delegate({ goal: 'c' }),
      (id) => second.session('c').collect(id, { timeoutMs: 5_000 }),
    );
    expect(code).toBe('limit_exceeded');
  });

  it('starts another session’s first task ahead of a long backlog (fair share across sessions)', async () => {
    const queue = newQueue('fair');
    const supervisor = supervisorOn(queue, { limits: { maxTasksPerSession: 100 } });
    const busy = supervisor.session('busy');
    const backlog = Array.from({ length: 40 }, (_, index) =>
      busy.delegate({ goal: `${index}`, model: 'whoami' }),
    );
    // Let the whole backlog reach the queue before a worker exists.
    await expect.poll(() => busy.list({ status: 'queued' }).length).toBe(40);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await startWorker(queue, workerConfig(), ['--concurrency', '1']);
    await expect
      .poll(() => busy.list({ status: 'completed' }).length, { timeout: 20_000 })
      .toBeGreaterThan(2);
    const newcomer = supervisor.session('newcomer');
    const delegatedAt = Date.now();
    const id = newcomer.delegate({ goal: 'first', model: 'whoami' });
    const mine = await newcomer.collect(id, { timeoutMs: 30_000 });
    expect(mine.status).toBe('completed');
    const startedBetween = backlog
      .map((each) => busy.check(each).startedAt)
      .filter((at): at is number => at !== undefined && at > delegatedAt && at < mine.startedAt!);
    // One worker with concurrency 1: at most the task it already took, and one fetched meanwhile.
    expect(startedBetween.length).toBeLessThanOrEqual(2);
    await Promise.all(backlog.map((each) => busy.collect(each, { timeoutMs: 60_000 })));
  }, 90_000);
});
