import type { OutputLine, TaskSnapshot } from '@errand/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, lineMatching, nextEvent, probe, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

describe('output', () => {
  it('has every emitted chunk in the buffer before the task turns terminal', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'flood', arguments: { lines: 5_000 } }] }, { text: 'done' }]),
      limits: { outputLines: 10_000 },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['faults'] });
    const ended = nextEvent(sup, 'task-end', (snapshot) => snapshot.id === id);
    const [snapshot] = await ended;
    // One tool_call line, 5,000 emitted lines, one tool_result line, the final answer.
    expect(snapshot.outputLines).toBe(5_003);
    expect(snapshot.preview.at(-1)).toBe('done');
    expect(session.check(id, { previewLines: 3 }).preview).toEqual([
      'line 4999',
      '← flood: emitted 5000',
      'done',
    ]);
  });

  it('cuts long lines, keeps only the last lines, and counts what it dropped', async () => {
    const sup = supervisor({
      model: scripted([
        { toolCalls: [{ name: 'echo', arguments: { text: 'y'.repeat(2_000) } }] },
        { toolCalls: [{ name: 'flood', arguments: { lines: 300 } }] },
        { text: 'done' },
      ]),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo', 'faults'] });
    const done = await session.collect(id);
    expect(done.outputLines).toBe(1 + 1 + 1 + 1 + 300 + 1 + 1);
    expect(done.preview).toHaveLength(200);
    expect(done.droppedLines).toBe(done.outputLines - 200);
    const long = await session.collect(id, { previewLines: 200 });
    expect(long.preview.every((line) => line.length <= 500)).toBe(true);
    expect(session.check(id, { previewLines: 0 }).preview).toEqual([]);
    expect(() => session.check(id, { previewLines: 201 })).toThrow(/previewLines/);
  });

  it('streams the buffered tail, then live lines, and ends when the task ends', async () => {
    const sup = supervisor({
      model: scripted([
        { text: 'first', toolCalls: [{ name: 'echo', arguments: { text: 'a' } }] },
        { text: 'second', delayMs: 200 },
      ]),
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'] });
    await lineMatching(session, id, /^← echo/);
    const lines: OutputLine[] = [];
    for await (const line of session.stream(id)) lines.push(line);
    expect(lines.map((line) => line.text)).toEqual([
      'first',
      '→ echo {"text":"a"}',
      'echoing 1 chars',
      '← echo: a',
      'second',
    ]);
    expect(lines.map((line) => line.index)).toEqual([0, 1, 2, 3, 4]);
    expect(session.check(id).status).toBe('completed');
    // A stream opened after the end replays the tail and stops.
    const replay: string[] = [];
    for await (const line of session.stream(id)) replay.push(line.text);
    expect(replay).toHaveLength(5);
  });

  it('pushes a completion notice for each task of the session, and only that session', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]) });
    const mine = sup.session('mine');
    const feed = mine.completions();
    const ids = [mine.delegate({ goal: '1' }), mine.delegate({ goal: '2' })];
    sup.session('other').delegate({ goal: 'not mine' });
    const seen: TaskSnapshot[] = [];
    for await (const snapshot of feed) {
      seen.push(snapshot);
      if (seen.length === 2) break;
    }
    expect(seen.map((snapshot) => snapshot.id).sort()).toEqual([...ids].sort());
    expect(seen.every((snapshot) => snapshot.sessionId === 'mine' && snapshot.status === 'completed')).toBe(
      true,
    );
  });

  it('resolves concurrent next() calls on one completions() iterator in order, and settles the rest at close', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]), pool: { maxThreads: 1 } });
    const session = sup.session('s');
    const feed = session.completions();
    const pending = [feed.next(), feed.next(), feed.next(), feed.next(), feed.next()];
    const ids = ['1', '2', '3'].map((goal) => session.delegate({ goal }));
    for (const id of ids) await session.collect(id);
    const firstThree = await Promise.all(pending.slice(0, 3));
    // One thread: the tasks end in the order they were delegated.
    expect(firstThree.map((result) => result.value?.id)).toEqual(ids);
    await sup.close();
    expect((await Promise.all(pending.slice(3))).map((result) => result.done)).toEqual([true, true]);
  });

  it('finishes its bookkeeping when a listener throws, and reports the throw as an error event', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]), limits: { maxTasksPerSession: 1 } });
    const errors: unknown[] = [];
    sup.on('error', (error) => errors.push(error));
    sup.on('task-status', () => {
      throw new Error('status listener bug');
    });
    sup.on('task-end', () => {
      throw new Error('end listener bug');
    });
    const session = sup.session('s');
    const feed = session.completions();
    // One unfinished task per session: a second delegate works only if the first one's slot was released.
    for (const goal of ['first', 'second']) {
      const snapshot = await session.collect(session.delegate({ goal }));
      expect(snapshot.status).toBe('completed');
    }
    const seen: string[] = [];
    for await (const snapshot of feed) {
      seen.push(snapshot.goal);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['first', 'second']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((error) => (error as Error).message)).toContain('end listener bug');
    expect(errors.map((error) => (error as Error).message)).toContain('status listener bug');
  });

  it('emits task-start, task-output, steer-delivered and task-end', async () => {
    const sup = supervisor({
      model: probe([{ toolCalls: [{ name: 'spin', arguments: { ms: 300 } }] }, { text: 'ok' }]),
    });
    const events: string[] = [];
    for (const name of ['task-start', 'task-output', 'steer-delivered', 'task-end'] as const) {
      sup.on(name, () => {
        if (events.at(-1) !== name) events.push(name);
      });
    }
    const statuses: string[] = [];
    sup.on('task-status', (event) => statuses.push(`${event.from}->${event.to}`));
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['echo'] });
    await lineMatching(session, id, /^→ spin/);
    session.steer(id, 'hello');
    await session.collect(id);
    expect(events[0]).toBe('task-start');
    expect(events).toContain('steer-delivered');
    expect(events.at(-1)).toBe('task-end');
    expect(statuses).toEqual(['queued->running', 'running->completed']);
  });
});

describe('collect', () => {
  it('returns timedOut and leaves the task running when the timeout passes', async () => {
    const sup = supervisor({ model: scripted([{ text: 'late', delayMs: 500 }]) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g' });
    const early = await session.collect(id, { timeoutMs: 0 });
    expect(early.timedOut).toBe(true);
    expect(['queued', 'running']).toContain(early.status);
    const later = await session.collect(id, { timeoutMs: 50 });
    expect(later.timedOut).toBe(true);
    const done = await session.collect(id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: 'completed', result: 'late' });
    expect(done.timedOut).toBeUndefined();
  });

  it('resolves many concurrent collectors of one task', async () => {
    const sup = supervisor({ model: scripted([{ text: 'shared', delayMs: 100 }]) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g' });
    const results = await Promise.all(
      Array.from({ length: 200 }, () => session.collect(id, { timeoutMs: 20_000 })),
    );
    expect(new Set(results.map((snapshot) => `${snapshot.status}:${snapshot.result}`))).toEqual(
      new Set(['completed:shared']),
    );
  });

  it('stops waiting when its signal aborts, without touching the task', async () => {
    const sup = supervisor({ model: scripted([{ text: 'slow', delayMs: 60_000 }]) });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g' });
    const controller = new AbortController();
    const waiting = session.collect(id, { signal: controller.signal });
    controller.abort(new Error('host gave up'));
    await expect(waiting).rejects.toThrow('host gave up');
    expect(session.check(id).status).not.toMatch(/cancelled|completed/);
    await expect(session.collect(id, { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
  });
});

describe('list and retention', () => {
  it('lists only this session, filtered by status', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'done' }]),
      models: { slow: scripted([{ text: 'slow', delayMs: 60_000 }]) },
    });
    const session = sup.session('s');
    const done = session.delegate({ goal: 'quick' });
    await session.collect(done);
    const slow = session.delegate({ goal: 'slow one', model: 'slow' });
    sup.session('t').delegate({ goal: 'elsewhere' });
    expect(session.list().map((task) => task.id)).toEqual([done, slow]);
    expect(session.list({ status: 'completed' }).map((task) => task.id)).toEqual([done]);
    expect(session.list()[0]).toMatchObject({
      goal: 'quick',
      status: 'completed',
      iterations: 1,
      outputLines: 1,
    });
  });

  it('evicts the oldest finished tasks past retainFinished', async () => {
    const sup = supervisor({ model: scripted([{ text: 'done' }]), limits: { retainFinished: 3 } });
    const session = sup.session('s');
    const ids: string[] = [];
    for (let index = 0; index < 6; index++) {
      const id = session.delegate({ goal: `g${index}` });
      await session.collect(id);
      ids.push(id);
    }
    expect(session.list().map((task) => task.id)).toEqual(ids.slice(3));
    expect(() => session.check(ids[0]!)).toThrow(/no task/);
  });
});
