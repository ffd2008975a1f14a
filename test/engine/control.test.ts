import { InvalidInputError, TaskFinishedError } from '@errand/core';
import { STEERING_PREFIX } from '@errand/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, lineMatching, nextEvent, probe, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

describe('steer', () => {
  it('reaches a running agent at its next checkpoint, verbatim and marked, and is acknowledged', async () => {
    const sup = supervisor({
      model: probe([{ toolCalls: [{ name: 'spin', arguments: { ms: 60_000 } }] }, { text: '$conversation' }]),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'work', toolsets: ['echo'] });
    await lineMatching(session, id, /^→ spin/);
    const delivered = nextEvent(sup, 'steer-delivered', (event) => event.taskId === id);
    expect(session.steer(id, 'focus on the tests first')).toEqual({ taskId: id, seq: 1, status: 'queued' });
    expect(session.check(id).steering).toEqual({ sent: 1, delivered: 0 });
    const [event] = await delivered;
    expect(event).toEqual({ taskId: id, sessionId: 's', seq: 1 });
    expect(session.check(id).steering).toEqual({ sent: 1, delivered: 1 });
    // The spin tool checkpoints, so it sees the steering mid-computation; it only stops when cancelled.
    const cancelled = await session.cancel(id);
    expect(
      cancelled.preview.some((line) => line.includes('[steer #1 delivered] focus on the tests first')),
    ).toBe(true);
  });

  it('injects steering into the conversation before the next model call', async () => {
    const sup = supervisor({
      model: probe([{ toolCalls: [{ name: 'spin', arguments: { ms: 400 } }] }, { text: '$conversation' }]),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'work', toolsets: ['echo'] });
    await lineMatching(session, id, /^→ spin/);
    session.steer(id, 'prefer small diffs');
    const done = await session.collect(id);
    expect(done.status).toBe('completed');
    expect(done.result).toContain(`user: ${STEERING_PREFIX} prefer small diffs`);
    expect(done.steering).toEqual({ sent: 1, delivered: 1 });
  });

  it('queues steering for a task that has not started and delivers it when it does', async () => {
    const sup = supervisor({
      model: probe([{ text: '$conversation' }]),
      models: { slow: scripted([{ text: 'slow', delayMs: 60_000 }]) },
      pool: { maxThreads: 1 },
    });
    const session = sup.session('s');
    const blocker = session.delegate({ goal: 'hold the only thread', model: 'slow' });
    const waiting = session.delegate({ goal: 'wait' });
    expect(session.check(waiting).status).toBe('queued');
    session.steer(waiting, 'first');
    session.steer(waiting, 'second');
    await session.cancel(blocker);
    const done = await session.collect(waiting);
    expect(done.steering).toEqual({ sent: 2, delivered: 2 });
    expect(done.result).toContain(`${STEERING_PREFIX} first\nuser: ${STEERING_PREFIX} second`);
  });

  it('refuses finished tasks, blank and over-long messages', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]), limits: { maxSteerChars: 10 } });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g' });
    expect(() => session.steer(id, '')).toThrow(InvalidInputError);
    expect(() => session.steer(id, 'x'.repeat(11))).toThrow(/limit is 10/);
    await session.collect(id);
    expect(() => session.steer(id, 'late')).toThrow(TaskFinishedError);
    expect(() => session.steer(id, 'late')).toThrow(/completed/);
  });

  it('bounds steering that is waiting for delivery', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'slow', delayMs: 60_000 }]),
      pool: { maxThreads: 1 },
      limits: { maxPendingSteers: 2 },
    });
    const session = sup.session('s');
    session.delegate({ goal: 'hold the thread' });
    const waiting = session.delegate({ goal: 'wait' });
    session.steer(waiting, 'a');
    session.steer(waiting, 'b');
    expect(() => session.steer(waiting, 'c')).toThrow(/maxPendingSteers/);
  });
});

describe('cancel', () => {
  it('removes a queued task without it ever starting', async () => {
    const sup = supervisor({ model: scripted([{ text: 'slow', delayMs: 60_000 }]), pool: { maxThreads: 1 } });
    const session = sup.session('s');
    const started: string[] = [];
    sup.on('task-start', (snapshot) => started.push(snapshot.id));
    const blocker = session.delegate({ goal: 'hold' });
    const queued = session.delegate({ goal: 'never runs' });
    const snapshot = await session.cancel(queued, { reason: 'not needed' });
    expect(snapshot).toMatchObject({ status: 'cancelled', exitReason: 'cancelled', iterations: 0 });
    expect(snapshot.error).toEqual({ code: 'cancelled', message: 'cancelled: not needed' });
    expect(snapshot.startedAt).toBeUndefined();
    expect(snapshot.endedAt).toBeDefined();
    await session.cancel(blocker);
    expect(started).not.toContain(queued);
  });

  it('stops a running agent cooperatively with its partial result and output', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'step one done', toolCalls: [{ name: 'spin', arguments: { ms: 60_000 } }] }]),
      limits: { cancelGraceMs: 30_000 },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'] });
    await lineMatching(session, id, /^→ spin/);
    const snapshot = await session.cancel(id);
    expect(snapshot).toMatchObject({ status: 'cancelled', exitReason: 'cancelled', result: 'step one done' });
    expect(snapshot.preview).toContain('step one done');
    // Ended well inside the 30 s grace: the spin tool saw the flag at a checkpoint, no thread was killed.
    expect(snapshot.endedAt! - snapshot.startedAt!).toBeLessThan(30_000);
    expect(await session.cancel(id)).toEqual(snapshot);
  });

  it('terminates a worker that never checkpoints after the grace, and the pool carries on', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'about to hang', toolCalls: [{ name: 'hang' }] }]),
      models: { ok: scripted([{ text: 'fine' }]) },
      limits: { cancelGraceMs: 100 },
      pool: { maxThreads: 1 },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['faults'] });
    await lineMatching(session, id, /^→ hang/);
    const snapshot = await session.cancel(id);
    expect(snapshot).toMatchObject({ status: 'cancelled', result: 'about to hang' });
    expect(snapshot.preview.at(-1)).toBe('→ hang {}');
    const next = session.delegate({ goal: 'after', model: 'ok' });
    expect(await session.collect(next)).toMatchObject({ status: 'completed', result: 'fine' });
  });

  it('keeps cancelled when the worker reports a result that was already on its way', async () => {
    // Turn 2 spins for 400 ms ignoring its signal, then answers. Its tool result line is flushed as turn 2
    // starts, so the cancel below lands while the model is spinning, and the answer arrives after it.
    const sup = supervisor({
      model: probe([
        { toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] },
        { text: 'finished anyway', spinMs: 400 },
      ]),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'] });
    await lineMatching(session, id, /^← echo/);
    const snapshot = await session.cancel(id);
    expect(snapshot.status).toBe('cancelled');
    expect(snapshot.result).toBe('finished anyway');
    expect(session.check(id).status).toBe('cancelled');
  });

  it('leaves the other tasks running', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'a' }, { text: 'b', delayMs: 300 }, { text: 'done' }]),
      models: { slow: scripted([{ text: 'slow', delayMs: 60_000 }]) },
    });
    const session = sup.session('s');
    const victim = session.delegate({ goal: 'victim', model: 'slow' });
    const other = session.delegate({ goal: 'other', maxIterations: 1 });
    await session.cancel(victim);
    expect(session.check(other).status).not.toBe('cancelled');
    expect((await session.collect(other)).status).toBe('completed');
  });
});

describe('timeout', () => {
  it('ends a task that runs too long as timed_out, keeping its partial result', async () => {
    const sup = supervisor({
      model: scripted([
        { text: 'partial', toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] },
        { text: 'never', delayMs: 60_000 },
      ]),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'], timeoutMs: 300 });
    const snapshot = await session.collect(id, { timeoutMs: 20_000 });
    expect(snapshot).toMatchObject({ status: 'timed_out', exitReason: 'timeout', result: 'partial' });
    expect(snapshot.error?.code).toBe('timeout');
    expect(snapshot.error?.message).toContain('300 ms');
  });

  it('also ends a tool that ignores its signal', async () => {
    const sup = supervisor({ model: scripted([{ toolCalls: [{ name: 'never' }] }]) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['faults'], timeoutMs: 200 });
    expect((await session.collect(id)).status).toBe('timed_out');
  });
});

describe('maxIterations', () => {
  it('fails with max_iterations and the last assistant text', async () => {
    const sup = supervisor({
      model: scripted(
        [{ text: 'looping', toolCalls: [{ name: 'echo', arguments: { text: 'again' } }] }],
        true,
      ),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'], maxIterations: 3 });
    const snapshot = await session.collect(id);
    expect(snapshot).toMatchObject({
      status: 'failed',
      exitReason: 'max_iterations',
      iterations: 3,
      result: 'looping',
    });
    expect(snapshot.error?.code).toBe('max_iterations');
  });
});
