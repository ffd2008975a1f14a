import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, lineMatching, nextEvent, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

describe('contracts a model or tool can break', () => {
  it.each([
    ['throws synchronously', 'throw', 'model failed: model.complete() threw: thrown synchronously'],
    [
      'returns a plain object',
      'object',
      'model.complete() must return a promise of { text?, toolCalls? }; got object',
    ],
    [
      'returns nothing',
      'undefined',
      'model.complete() must return a promise of { text?, toolCalls? }; got undefined',
    ],
    [
      'resolves to a string',
      'resolve-string',
      'model.complete() must resolve to { text?, toolCalls? }; got string',
    ],
  ])('fails a task whose model.complete() %s with model_error', async (_name, mode, message) => {
    const sup = supervisor({
      model: { provider: 'module', specifier: fixture('engine-contract-model.mjs'), options: { mode } },
    });
    const session = sup.session('s');
    const snapshot = await session.collect(session.delegate({ goal: 'g' }));
    expect(snapshot).toMatchObject({ status: 'failed', exitReason: 'error' });
    expect(snapshot.error).toEqual({ code: 'model_error', message });
  });

  it('cancels an async tool that checkpoints, and the thread runs the next task', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'checkpointAsync' }] }, { text: 'done' }]),
      pool: { maxThreads: 1 },
    });
    const workerErrors: Error[] = [];
    sup.on('worker-error', (error) => workerErrors.push(error));
    const session = sup.session('s');
    const first = session.delegate({ goal: 'spin', toolsets: ['faults'] });
    await lineMatching(session, first, /checkpointAsync/);
    expect((await session.cancel(first)).status).toBe('cancelled');
    // The same (only) thread takes the next task; a crash after the cancel would fail it.
    const second = sup.session('t');
    const ended = nextEvent(sup, 'task-end');
    // Without the faults toolset the scripted tool call is refused, and the model's next turn answers.
    const done = await second.collect(second.delegate({ goal: 'plain', toolsets: [] }));
    expect(done).toMatchObject({ status: 'completed', result: 'done' });
    await ended;
    expect(workerErrors).toEqual([]);
  });
});
