import { LimitExceededError } from '@errand/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

describe('fair scheduling across sessions', () => {
  it('a session with a thousand queued tasks cannot starve another session\u2019s single task', async () => {
    const maxThreads = 2;
    const sup = supervisor({
      model: scripted([{ text: 'flood', delayMs: 20 }]),
      pool: { maxThreads },
      limits: { maxTasksPerSession: 1_000, maxQueued: 1_000 },
    });
    const starts: string[] = [];
    sup.on('task-start', (snapshot) => starts.push(snapshot.sessionId));
    const flood = sup.session('flood');
    // One session may fill maxQueued on its own; the quiet session's first task then uses the reserve.
    const floodIds = Array.from({ length: 1_000 }, (_, index) => flood.delegate({ goal: `flood ${index}` }));
    expect(() => flood.delegate({ goal: 'one too many' })).toThrow(LimitExceededError);
    // Let the flood occupy every thread first.
    await new Promise<void>((resolve) => {
      const check = () => (starts.length >= maxThreads ? resolve() : setTimeout(check, 5));
      check();
    });
    const startedBefore = starts.length;
    const quiet = sup.session('quiet');
    const id = quiet.delegate({ goal: 'just one' });
    const done = await quiet.collect(id, { timeoutMs: 30_000 });
    expect(done.status).toBe('completed');
    const position = starts.indexOf('quiet') - startedBefore;
    // It starts after at most the flood tasks already handed to a thread (up to maxThreads) and the flood's one
    // turn ahead of it in the rotation, not after the ~1,000 tasks queued ahead of it.
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThanOrEqual(maxThreads + 1);
    for (const floodId of floodIds.slice(-50)) await flood.cancel(floodId);
  });

  it('keeps returning limit_exceeded under pressure instead of growing', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'slow', delayMs: 60_000 }]),
      pool: { maxThreads: 1 },
      limits: { maxTasksPerSession: 5, maxQueued: 8 },
    });
    let accepted = 0;
    let refused = 0;
    for (let session = 0; session < 4; session++) {
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          sup.session(`s${session}`).delegate({ goal: 'g' });
          accepted += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(LimitExceededError);
          refused += 1;
        }
      }
    }
    // One running plus eight queued at most, whatever was asked.
    expect(accepted).toBeLessThanOrEqual(9);
    expect(refused).toBe(40 - accepted);
  });

  it('a stream of fresh sessions cannot overtake a session that is already waiting', async () => {
    const sup = supervisor({ model: scripted([{ text: 'quick' }]), pool: { maxThreads: 1 } });
    const starts: string[] = [];
    sup.on('task-start', (snapshot) => starts.push(snapshot.sessionId));
    // The first task takes the only thread; the victim waits; then 45 newer sessions arrive, one task each.
    const ids: [string, string][] = [['blocker', sup.session('blocker').delegate({ goal: 'first' })]];
    ids.push(['victim', sup.session('victim').delegate({ goal: 'waits' })]);
    for (let fresh = 0; fresh < 45; fresh++) {
      const session = `fresh${fresh}`;
      ids.push([session, sup.session(session).delegate({ goal: 'newer' })]);
    }
    for (const [session, id] of ids) await sup.session(session).collect(id, { timeoutMs: 30_000 });
    expect(starts.slice(0, 3)).toEqual(['blocker', 'victim', 'fresh0']);
    expect(starts).toEqual(ids.map(([session]) => session));
  });

  it('sessions filling the queue leave room for another session’s first task (small limits)', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'slow', delayMs: 60_000 }]),
      pool: { maxThreads: 1 },
      limits: { maxTasksPerSession: 4, maxQueued: 10 },
    });
    let refused = 0;
    for (let session = 0; session < 3; session++) {
      for (let task = 0; task < 4; task++) {
        try {
          sup.session(`busy${session}`).delegate({ goal: 'g' });
        } catch (error) {
          expect((error as LimitExceededError).details).toMatchObject({ limit: 'maxQueued' });
          refused += 1;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
    const late = sup.session('late');
    const id = late.delegate({ goal: 'my first task' });
    expect(late.check(id).status).toBe('queued');
    // Its second one is refused like the busy sessions' were: the queue stays bounded.
    expect(() => late.delegate({ goal: 'second' })).toThrow(LimitExceededError);
  });

  it('63 sessions × 16 tasks do not lock out a 64th session (default limits)', async () => {
    const sup = supervisor({ model: scripted([{ text: 'slow', delayMs: 60_000 }]), pool: { maxThreads: 1 } });
    let accepted = 0;
    for (let session = 0; session < 63; session++) {
      for (let task = 0; task < 16; task++) {
        try {
          sup.session(`busy${session}`).delegate({ goal: 'g' });
          accepted += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(LimitExceededError);
        }
      }
    }
    expect(accepted).toBeLessThan(63 * 16);
    for (let fresh = 0; fresh < 10; fresh++) {
      const session = sup.session(`newcomer${fresh}`);
      expect(session.check(session.delegate({ goal: 'first' })).status).toBe('queued');
    }
  });
});
