import { describe, expect, it } from 'vitest';
import type { ValidGoal } from './delegate-input.js';
import type { Engine, TaskView } from './engine.js';
import { DEFAULT_LIMITS } from './options.js';
import { Session } from './session.js';
import { snapshotOf } from './snapshot.js';
import { Task } from './task.js';

/** A session over one task, with just the parts of the engine that `collect` reads. */
function sessionWith(task: Task): Session {
  const engine = {
    options: { limits: DEFAULT_LIMITS },
    view: () => ({ record: task.record, live: task }),
    snapshot: (view: TaskView, previewLines: number) => snapshotOf(view.record, view.live, previewLines),
  } as unknown as Engine;
  return new Session(engine, task.sessionId);
}

const newTask = () =>
  new Task(
    {
      id: 't',
      sessionId: 's',
      status: 'queued',
      goal: { goal: 'g' } as ValidGoal,
      depth: 0,
      createdAt: Date.now(),
      iterations: 0,
      steering: { sent: 0, delivered: 0 },
      outputLines: 0,
      droppedLines: 0,
      transitions: [],
    },
    10,
    100,
  );

describe('Session.collect', () => {
  it('leaves no waiter on the task after 10,000 timed-out collects', async () => {
    const task = newTask();
    const session = sessionWith(task);
    const collects = Array.from({ length: 10_000 }, () => session.collect('t', { timeoutMs: 1 }));
    expect(task.endWaiterCount).toBe(10_000);
    const results = await Promise.all(collects);
    expect(results.every((snapshot) => snapshot.timedOut === true)).toBe(true);
    expect(task.endWaiterCount).toBe(0);
  });

  it('leaves no waiter on the task after 10,000 aborted collects', async () => {
    const task = newTask();
    const session = sessionWith(task);
    const controllers = Array.from({ length: 10_000 }, () => new AbortController());
    const collects = controllers.map((controller) => session.collect('t', { signal: controller.signal }));
    expect(task.endWaiterCount).toBe(10_000);
    for (const controller of controllers) controller.abort(new Error('gave up'));
    const settled = await Promise.allSettled(collects);
    expect(settled.every((result) => result.status === 'rejected')).toBe(true);
    expect(task.endWaiterCount).toBe(0);
  });

  it('resolves every collector when the task ends, and forgets them', async () => {
    const task = newTask();
    const session = sessionWith(task);
    const collects = Array.from({ length: 100 }, () => session.collect('t', { timeoutMs: 60_000 }));
    expect(task.endWaiterCount).toBe(100);
    task.apply({ type: 'finish', status: 'completed' });
    task.record.status = 'completed';
    const snapshots = await Promise.all(collects);
    expect(snapshots.every((snapshot) => snapshot.status === 'completed' && !snapshot.timedOut)).toBe(true);
    expect(task.endWaiterCount).toBe(0);
  });
});
