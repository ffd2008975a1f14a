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
    const floodIds = Array.from({ length: 998 }, (_, index) => flood.delegate({ goal: `flood ${index}` }));
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
    // It starts within the next maxThreads dispatches, not after the 996 tasks queued ahead of it.
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThan(maxThreads);
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
});
