/**
 * The fault matrix: one row per fault. For each: the task ends in its documented terminal state with its
 * error code and output tail, a healthy task running beside it completes, the supervisor keeps accepting
 * work, and nothing unhandled reaches the host.
 */
import type { Supervisor, TaskSnapshot } from '@errand/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, fixture, lineMatching, scripted, supervisor } from '../helpers.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let handlesBefore: Set<string>;

beforeAll(() => {
  handlesBefore = new Set(process.getActiveResourcesInfo());
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});

afterAll(async () => {
  await closeAll();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
  const left = process.getActiveResourcesInfo().filter((resource) => !handlesBefore.has(resource));
  expect(left).toEqual([]);
});

type Turn = Parameters<typeof scripted>[0][number];

/** Runs `fault` beside a healthy task, then one more task, and returns the fault's final snapshot. */
async function row(
  faultTurns: Turn[] | { provider: 'module'; specifier: string },
  options: {
    timeoutMs?: number;
    grace?: number;
    memoryMb?: number;
    act?: (sup: Supervisor, id: string) => Promise<void>;
  } = {},
): Promise<TaskSnapshot> {
  const sup = supervisor({
    model: Array.isArray(faultTurns) ? scripted(faultTurns) : faultTurns,
    models: {
      healthy: scripted([
        { toolCalls: [{ name: 'echo', arguments: { text: 'ok' } }], delayMs: 150 },
        { text: 'healthy done' },
      ]),
    },
    limits: { cancelGraceMs: options.grace ?? 2_000 },
    pool: { maxThreads: 2, ...(options.memoryMb ? { maxOldGenerationSizeMb: options.memoryMb } : {}) },
  });
  const session = sup.session('matrix');
  const healthy = session.delegate({ goal: 'healthy', model: 'healthy', toolsets: ['echo'] });
  const faulty = session.delegate({
    goal: 'fault',
    toolsets: ['faults', 'echo'],
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  if (options.act) await options.act(sup, faulty);
  const snapshot = await session.collect(faulty, { timeoutMs: 30_000 });
  expect(await session.collect(healthy, { timeoutMs: 30_000 })).toMatchObject({
    status: 'completed',
    result: 'healthy done',
  });
  const after = session.delegate({ goal: 'after', model: 'healthy', toolsets: ['echo'] });
  expect((await session.collect(after, { timeoutMs: 30_000 })).status).toBe('completed');
  return snapshot;
}

describe('fault matrix', () => {
  it('model throws → failed, model_error', async () => {
    const snapshot = await row({ provider: 'module', specifier: fixture('engine-throwing-model.mjs') });
    expect(snapshot).toMatchObject({ status: 'failed', exitReason: 'error', error: { code: 'model_error' } });
  });

  it('tool throws → failed, tool_error, output tail kept', async () => {
    const snapshot = await row([{ text: 'calling', toolCalls: [{ name: 'fail' }] }]);
    expect(snapshot).toMatchObject({ status: 'failed', error: { code: 'tool_error' } });
    expect(snapshot.preview).toEqual(['calling', '→ fail {}']);
  });

  it.each(['object', 'bigint', 'cycle', 'string'])(
    'tool returns a non-string or huge value (%s) → fed back, cut, completed',
    async (kind) => {
      const snapshot = await row([{ toolCalls: [{ name: 'huge', arguments: { kind } }] }, { text: 'coped' }]);
      expect(snapshot).toMatchObject({ status: 'completed', result: 'coped' });
      const result = snapshot.preview.find((line) => line.startsWith('← huge: '))!;
      expect(result.length).toBeLessThanOrEqual(500);
    },
  );

  it('model calls an unknown tool and sends invalid JSON arguments → fed back, the task continues', async () => {
    const snapshot = await row([
      { toolCalls: [{ name: 'no_such_tool' }] },
      { toolCalls: [{ name: 'echo', arguments: '{"text": ' }] },
      { text: 'recovered' },
    ]);
    expect(snapshot).toMatchObject({ status: 'completed', result: 'recovered', iterations: 3 });
    expect(snapshot.preview).toContainEqual(
      expect.stringMatching(
        /^← no_such_tool error: unknown tool "no_such_tool"; available tools: fail, exit, allocate, hang, .*echo, spin$/,
      ),
    );
  });

  it('process.exit() in the worker → failed, worker_crashed', async () => {
    const snapshot = await row([{ text: 'exiting', toolCalls: [{ name: 'exit' }] }]);
    expect(snapshot).toMatchObject({
      status: 'failed',
      exitReason: 'crashed',
      result: 'exiting',
      error: { code: 'worker_crashed' },
    });
  });

  it('uncaught exception in a timer after the task returned → the task stays completed, the host is told', async () => {
    const errors: Error[] = [];
    const snapshot = await row(
      [{ toolCalls: [{ name: 'throwLater', arguments: { afterMs: 20 } }] }, { text: 'returned' }],
      {
        act: async (sup) => {
          sup.on('worker-error', (error) => errors.push(error));
          await new Promise<void>((resolve) => sup.once('worker-error', () => resolve()));
        },
      },
    );
    expect(snapshot).toMatchObject({ status: 'completed', result: 'returned' });
    expect(errors[0]?.message).toContain('thrown from a timer after the task returned');
  });

  it('heap exhaustion under resourceLimits → failed, worker_crashed', async () => {
    const snapshot = await row([{ text: 'allocating', toolCalls: [{ name: 'allocate' }] }], { memoryMb: 32 });
    expect(snapshot).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } });
    expect(snapshot.error?.message).toMatch(/memory/i);
  });

  it('synchronous infinite loop that never checkpoints → cancelled by a hard stop after the grace', async () => {
    const snapshot = await row([{ text: 'spinning', toolCalls: [{ name: 'hang' }] }], {
      grace: 100,
      act: async (sup, id) => {
        await lineMatching(sup.session('matrix'), id, /^→ hang/);
        await sup.session('matrix').cancel(id);
      },
    });
    expect(snapshot).toMatchObject({ status: 'cancelled', result: 'spinning', error: { code: 'cancelled' } });
  });

  it('never-resolving promise → timed_out by the task timeout', async () => {
    const snapshot = await row([{ text: 'waiting', toolCalls: [{ name: 'never' }] }], { timeoutMs: 300 });
    expect(snapshot).toMatchObject({
      status: 'timed_out',
      exitReason: 'timeout',
      result: 'waiting',
      error: { code: 'timeout' },
    });
  });

  it('worker dies while streaming thousands of chunks → everything emitted before the crash is kept', async () => {
    const snapshot = await row([{ toolCalls: [{ name: 'floodThenExit', arguments: { lines: 5_000 } }] }]);
    expect(snapshot).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } });
    expect(snapshot.outputLines).toBe(5_001);
    expect(snapshot.preview.at(-1)).toBe('line 4999');
  });
});

describe('races: terminal states never change once set', () => {
  function recordTerminals(sup: Supervisor) {
    const ends = new Map<string, string[]>();
    sup.on('task-status', ({ taskId, to }) => {
      if (to === 'queued' || to === 'running') return;
      ends.set(taskId, [...(ends.get(taskId) ?? []), to]);
    });
    return ends;
  }

  it('cancel vs completion, steer vs completion, cancel vs cancel', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'quick' }]),
      pool: { maxThreads: 2 },
      limits: { maxTasksPerSession: 100 },
    });
    const ends = recordTerminals(sup);
    const session = sup.session('races');
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, async (_, index) => {
        const id = session.delegate({ goal: `race ${index}` });
        await new Promise((resolve) => setTimeout(resolve, index % 7));
        try {
          session.steer(id, 'late guidance');
        } catch (error) {
          expect((error as { code: string }).code).toBe('task_finished');
        }
        const [first, second] = await Promise.all([session.cancel(id), session.cancel(id)]);
        expect(second.status).toBe(first.status);
        const final = await session.collect(id);
        expect(final.status).toBe(first.status);
        expect(final.steering.delivered).toBeLessThanOrEqual(final.steering.sent);
        return final.status;
      }),
    );
    expect(new Set(outcomes).size).toBeGreaterThanOrEqual(1);
    for (const status of outcomes) expect(['completed', 'cancelled']).toContain(status);
    for (const [, terminals] of ends) expect(terminals).toHaveLength(1);
    expect(ends.size).toBe(60);
  });

  it('collect vs eviction: a collector gets its snapshot even if the task is evicted right after', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'done' }]),
      limits: { retainFinished: 1, maxTasksPerSession: 100 },
    });
    const session = sup.session('evict');
    const ids = Array.from({ length: 20 }, (_, index) => session.delegate({ goal: `g${index}` }));
    const snapshots = await Promise.all(ids.map((id) => session.collect(id)));
    expect(snapshots.every((snapshot) => snapshot.status === 'completed')).toBe(true);
    expect(session.list()).toHaveLength(1);
  });

  it('close() with queued, running and finishing tasks ends every task once', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'quick' }]),
      models: { slow: scripted([{ text: 'slow', delayMs: 60_000 }]) },
      pool: { maxThreads: 2 },
      limits: { maxTasksPerSession: 100 },
    });
    const ends = recordTerminals(sup);
    const session = sup.session('closing');
    const ids = [
      ...Array.from({ length: 3 }, () => session.delegate({ goal: 'slow', model: 'slow' })),
      ...Array.from({ length: 10 }, () => session.delegate({ goal: 'quick' })),
    ];
    await new Promise((resolve) => setTimeout(resolve, 30));
    await sup.close({ graceMs: 200 });
    for (const id of ids) expect(['completed', 'cancelled']).toContain(session.check(id).status);
    expect([...ends.values()].every((terminals) => terminals.length === 1)).toBe(true);
    expect(ends.size).toBe(ids.length);
  });
});
