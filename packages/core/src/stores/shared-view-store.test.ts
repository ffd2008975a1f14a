import { describe, expect, it } from 'vitest';
import type { ValidGoal } from '../delegate-input.js';
import type { TaskRecord, TaskRecordPatch } from '../task-store.js';
import { type SharedStoreBackend, SharedViewStore } from './shared-view-store.js';

const record = (id: string, sessionId = 's', status: TaskRecord['status'] = 'queued'): TaskRecord => ({
  id,
  sessionId,
  status,
  goal: { goal: 'g' } as ValidGoal,
  depth: 0,
  createdAt: Date.now(),
  iterations: 0,
  steering: { sent: 0, delivered: 0 },
  outputLines: 0,
  droppedLines: 0,
  transitions: [{ status, at: Date.now() }],
});

/** A backend that records what it was asked to write. */
function recordingBackend() {
  const writes: string[] = [];
  const backend: SharedStoreBackend = {
    create: (created) => writes.push(`create ${created.id}`),
    update: (id, patch: TaskRecordPatch) => writes.push(`update ${id} ${Object.keys(patch).join(',')}`),
    saveCheckpoint: (id) => writes.push(`checkpoint ${id}`),
    follow: async () => {},
    close: async () => {},
  };
  return { backend, writes };
}

describe('SharedViewStore', () => {
  it('answers reads at once and replays writes made before its backend attached, in order', () => {
    const view = new SharedViewStore(10);
    view.create(record('a'));
    view.update('a', { status: 'running' });
    expect(view.get('a')?.status).toBe('running');
    const { backend, writes } = recordingBackend();
    view.attach(backend);
    expect(writes).toEqual(['create a', 'update a status']);
    view.update('a', { iterations: 2 });
    expect(writes.at(-1)).toBe('update a iterations');
  });

  it('counts unfinished tasks per session and queued tasks, whoever wrote them', () => {
    const view = new SharedViewStore(10);
    view.create(record('a', 's1'));
    view.applyRemote('b', { record: record('b', 's1') });
    view.applyRemote('c', { record: record('c', 's2', 'running') });
    expect(view.counts('s1')).toEqual({ unfinished: 2, queued: 2 });
    view.applyRemote('b', { patch: { status: 'running' } });
    expect(view.counts('s1')).toEqual({ unfinished: 2, queued: 1 });
    // The engine patches its own record before it writes: the view still counts the change once.
    const own = view.get('a')!;
    own.status = 'completed';
    view.update('a', { status: 'completed' });
    expect(view.counts('s1')).toEqual({ unfinished: 1, queued: 0 });
    expect(view.counts('s2')).toEqual({ unfinished: 1, queued: 0 });
  });

  it('leaves its own records to its engine, and never moves a terminal record to another status', () => {
    const view = new SharedViewStore(10);
    view.create(record('mine'));
    view.applyRemote('mine', { patch: { status: 'running', iterations: 5 } });
    expect(view.get('mine')).toMatchObject({ status: 'queued', iterations: 0 });
    view.applyRemote('theirs', { record: record('theirs', 's', 'cancelled') });
    view.applyRemote('theirs', { patch: { status: 'completed', outputLines: 3 } });
    expect(view.get('theirs')).toMatchObject({ status: 'cancelled', outputLines: 3 });
  });

  it('wakes whoever waits on a record when a change for it arrives, and on close', async () => {
    const view = new SharedViewStore(10);
    view.applyRemote('x', { record: record('x') });
    const first = view.changed('x');
    view.applyRemote('x', { patch: { status: 'running' } });
    await first;
    const second = view.changed('x');
    await view.close();
    await second;
  });

  it('keeps finished records up to its retention, and no leftovers for the engine to interrupt', () => {
    const view = new SharedViewStore(2);
    for (const id of ['a', 'b', 'c']) view.applyRemote(id, { record: record(id, 's', 'completed') });
    expect([...view.ofSession('s')].map((each) => each.id)).toEqual(['b', 'c']);
    view.applyRemote('d', { record: record('d') });
    expect([...view.unfinished()]).toEqual([]);
  });

  it('refers to checkpoints it only knows by their iterations', () => {
    const view = new SharedViewStore(10);
    view.applyRemote('x', { record: record('x', 's', 'interrupted') });
    expect(view.checkpoint('x')).toBeUndefined();
    view.noteCheckpoint('x', 4);
    expect(view.checkpoint('x')).toEqual({ iterations: 4, messages: '' });
  });
});
