import { InvalidInputError, LimitExceededError, NotFoundError, ShuttingDownError } from '@errand/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, nextEvent, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('delegate', () => {
  it('returns a uuid v4 synchronously, before any worker has started', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'say done' });
    expect(typeof id).toBe('string');
    expect(id).toMatch(UUID_V4);
    expect(session.check(id).status).toBe('queued');
    const done = await session.collect(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({
      status: 'completed',
      result: 'done',
      exitReason: 'completed',
      iterations: 1,
    });
    expect(done.startedAt).toBeGreaterThanOrEqual(done.createdAt);
    expect(done.endedAt).toBeGreaterThanOrEqual(done.startedAt!);
  });

  it.each([
    ['blank goal', { goal: '   ' }, 'goal'],
    ['missing goal', {}, 'goal'],
    ['goal of the wrong type', { goal: 42 }, 'goal'],
    ['goal over maxGoalChars', { goal: 'x'.repeat(101) }, 'goal'],
    ['context over maxContextChars', { goal: 'g', context: 'x'.repeat(201) }, 'context'],
    ['unknown toolset', { goal: 'g', toolsets: ['nope'] }, 'toolsets'],
    ['zero maxIterations', { goal: 'g', maxIterations: 0 }, 'maxIterations'],
    ['fractional maxIterations', { goal: 'g', maxIterations: 1.5 }, 'maxIterations'],
    ['maxIterations over the cap', { goal: 'g', maxIterations: 10_000 }, 'maxIterations'],
    ['negative timeoutMs', { goal: 'g', timeoutMs: -1 }, 'timeoutMs'],
    ['NaN timeoutMs', { goal: 'g', timeoutMs: Number.NaN }, 'timeoutMs'],
    ['unknown model profile', { goal: 'g', model: 'huge' }, 'model'],
    ['metadata that is not an object', { goal: 'g', metadata: 'x' }, 'metadata'],
  ])('rejects %s with InvalidInputError naming the field', (_name, input, field) => {
    const sup = supervisor({
      model: scripted([{ text: 'done' }]),
      limits: { maxGoalChars: 100, maxContextChars: 200 },
    });
    const attempt = () => sup.session('s').delegate(input as never);
    expect(attempt).toThrow(InvalidInputError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_input', field });
      expect((error as Error).message).toContain(field);
    }
    expect(sup.session('s').list()).toEqual([]);
  });

  it('lists the allowed names when a model profile is unknown, and runs a known one', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'default' }]),
      models: { fast: scripted([{ text: 'fast' }]), smart: scripted([{ text: 'smart' }]) },
    });
    const session = sup.session('s');
    expect(() => session.delegate({ goal: 'g', model: 'slow' })).toThrow(/allowed: fast, smart/);
    const id = session.delegate({ goal: 'g', model: 'smart' });
    expect((await session.collect(id)).result).toBe('smart');
  });

  it('carries metadata on snapshots, detached from the caller', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    const metadata = { ticket: 7 };
    const id = sup.session('s').delegate({ goal: 'g', metadata });
    metadata.ticket = 8;
    expect(sup.session('s').check(id).metadata).toEqual({ ticket: 7 });
  });
});

describe('limits', () => {
  it('caps unfinished tasks per session and leaves other sessions alone', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'slow', delayMs: 60_000 }]),
      limits: { maxTasksPerSession: 2 },
    });
    const a = sup.session('a');
    const first = a.delegate({ goal: '1' });
    a.delegate({ goal: '2' });
    expect(() => a.delegate({ goal: '3' })).toThrow(LimitExceededError);
    expect(() => a.delegate({ goal: '3' })).toThrow(/maxTasksPerSession/);
    expect(sup.session('b').delegate({ goal: 'other' })).toMatch(/-/);
    await a.cancel(first);
    expect(a.delegate({ goal: '3 again' })).toMatch(/-/);
  });

  it('keeps overflow beyond the running threads queued, and caps the queue', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'slow', delayMs: 60_000 }]),
      pool: { maxThreads: 1 },
      limits: { maxQueued: 2, maxTasksPerSession: 100 },
    });
    const session = sup.session('s');
    const started = nextEvent(sup, 'task-start');
    const running = session.delegate({ goal: 'runs' });
    await started;
    const waiting = [session.delegate({ goal: 'q1' }), session.delegate({ goal: 'q2' })];
    expect(session.check(running).status).toBe('running');
    for (const id of waiting) expect(session.check(id).status).toBe('queued');
    expect(() => session.delegate({ goal: 'q3' })).toThrow(/maxQueued/);
  });
});

describe('not found', () => {
  it('gives unknown ids, other sessions\u2019 ids and evicted ids the same answer', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'done' }]),
      models: { slow: scripted([{ text: 'slow', delayMs: 60_000 }]) },
      limits: { retainFinished: 1 },
    });
    const mine = sup.session('mine');
    const theirs = sup.session('theirs');
    const theirId = theirs.delegate({ goal: 'private', model: 'slow' });
    const first = mine.delegate({ goal: 'first' });
    await mine.collect(first);
    const second = mine.delegate({ goal: 'second' });
    await mine.collect(second);
    // retainFinished = 1: `first` was evicted when `second` ended; `theirId` is unfinished, never evicted.
    for (const id of [theirId, first, 'no-such-id', '']) {
      expect(() => mine.check(id)).toThrow(NotFoundError);
      await expect(mine.collect(id)).rejects.toThrow(NotFoundError);
      await expect(mine.cancel(id)).rejects.toMatchObject({ code: 'not_found' });
      expect(() => mine.steer(id, 'hi')).toThrow(NotFoundError);
      expect(() => mine.stream(id)).toThrow(NotFoundError);
    }
    expect(theirs.check(theirId).status).not.toBe('completed');
    expect(mine.list().map((task) => task.id)).toEqual([second]);
    // Same code and the same message shape for "exists elsewhere" and "never existed".
    const messageOf = (id: string) => {
      try {
        mine.check(id);
      } catch (error) {
        return (error as Error).message.replace(id, '<id>');
      }
      return 'found';
    };
    expect(messageOf(theirId)).toBe(messageOf('00000000-0000-4000-8000-000000000000'));
  });
});

describe('close', () => {
  it('rejects new work, cancels what runs, and leaves no handles', async () => {
    const before = new Set(process.getActiveResourcesInfo());
    const sup = supervisor({ model: scripted([{ text: 'slow', delayMs: 60_000 }]), pool: { maxThreads: 1 } });
    const session = sup.session('s');
    const started = nextEvent(sup, 'task-start');
    const running = session.delegate({ goal: 'runs' });
    const queued = session.delegate({ goal: 'waits' });
    await started;
    const closing = sup.close({ graceMs: 500 });
    expect(() => session.delegate({ goal: 'late' })).toThrow(ShuttingDownError);
    await closing;
    expect(session.check(running).status).toBe('cancelled');
    expect(session.check(queued).status).toBe('cancelled');
    await sup.close();
    const left = process.getActiveResourcesInfo().filter((resource) => !before.has(resource));
    expect(left).toEqual([]);
  });
});
