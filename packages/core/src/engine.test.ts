import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Engine } from './engine.js';
import type { Executor, ExecutorContext, SteerMessage, TaskRun } from './executor.js';
import { resolveOptions, type SupervisorOptions } from './options.js';
import type { SupervisorEvents } from './types.js';

/**
 * A synchronous executor the test drives by hand: every race becomes a fixed order of calls. It does what
 * the interface promises (capacity, one settle per run, free after settle) and records what the engine asked.
 */
class FakeExecutor implements Executor {
  readonly runs = new Map<string, TaskRun>();
  readonly calls: string[] = [];
  readonly context: ExecutorContext;
  slots: number;
  closed = false;

  constructor(context: ExecutorContext, slots: number) {
    this.context = context;
    this.slots = slots;
  }

  get capacity(): number {
    return this.slots;
  }
  submit(run: TaskRun): void {
    this.slots -= 1;
    this.runs.set(run.taskId, run);
    this.calls.push(`submit ${run.taskId}`);
  }
  steer(taskId: string, message: SteerMessage): void {
    this.calls.push(`steer ${taskId} ${message.seq} ${message.text}`);
  }
  stop(taskId: string, reason: 'cancel' | 'timeout'): void {
    this.calls.push(`stop ${taskId} ${reason}`);
  }
  kill(taskId: string): void {
    this.calls.push(`kill ${taskId}`);
  }
  async close(): Promise<void> {
    this.closed = true;
  }

  start(taskId: string): void {
    this.context.events.start(taskId);
  }
  text(taskId: string, text: string, iterations = 1): void {
    this.context.events.output(taskId, [{ kind: 'text', text }], { iterations, lastText: text.trim() });
  }
  complete(taskId: string, result: string): void {
    this.context.events.settle(taskId, {
      status: 'completed',
      exitReason: 'completed',
      result,
      iterations: 1,
    });
  }
  /** The run's slot opens (for a killed run, after its settle). */
  free(): void {
    this.slots += 1;
    this.context.events.free();
  }
}

const model = { provider: 'scripted' as const, turns: [{ text: 'x' }] };
let fake: FakeExecutor;
let events: Array<[string, unknown]>;

function engine(options: Partial<SupervisorOptions> = {}, slots = 2): Engine {
  events = [];
  const emit = (event: keyof SupervisorEvents, ...args: unknown[]) => events.push([event, args[0]]);
  return new Engine(resolveOptions({ model, ...options }), emit as never, {
    executor: (context) => {
      fake = new FakeExecutor(context, slots);
      return fake;
    },
  });
}

/** Lets the engine's per-tick hand-off run. */
const tick = () => vi.advanceTimersToNextTimerAsync();

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Engine with a synchronous fake executor', () => {
  it('returns the id before anything is handed to the executor, then submits in the next tick', async () => {
    const e = engine();
    const id = e.delegate('s', { goal: 'g' });
    expect(fake.calls).toEqual([]);
    expect(e.snapshot(e.view('s', id), 0).status).toBe('queued');
    await tick();
    expect(fake.calls).toEqual([`submit ${id}`]);
    expect(fake.runs.get(id)).toMatchObject({ taskId: id, sessionId: 's', depth: 0, steering: [] });
  });

  it('keeps cancelled when a result arrives after the cancel', async () => {
    const e = engine();
    const id = e.delegate('s', { goal: 'g' });
    await tick();
    fake.start(id);
    fake.text(id, 'partial\n');
    e.stop(e.view('s', id).live!, 'cancel', 'cancelled by the host');
    expect(fake.calls.at(-1)).toBe(`stop ${id} cancel`);
    fake.complete(id, 'the late answer');
    const snapshot = e.snapshot(e.view('s', id), 10);
    expect(snapshot).toMatchObject({
      status: 'cancelled',
      exitReason: 'cancelled',
      result: 'the late answer',
    });
    expect(snapshot.error).toEqual({ code: 'cancelled', message: 'cancelled by the host' });
    expect(events.filter(([name]) => name === 'task-end')).toHaveLength(1);
  });

  it('keeps the first of a cancel and a timeout that race', async () => {
    const e = engine();
    const id = e.delegate('s', { goal: 'g', timeoutMs: 1_000 });
    await tick();
    fake.start(id);
    vi.advanceTimersByTime(1_000);
    expect(fake.calls.at(-1)).toBe(`stop ${id} timeout`);
    e.stop(e.view('s', id).live!, 'cancel', 'too late');
    expect(fake.calls.filter((call) => call.startsWith('stop'))).toHaveLength(1);
    fake.context.events.settle(id, { status: 'cancelled', exitReason: 'cancelled' });
    expect(e.snapshot(e.view('s', id), 0)).toMatchObject({ status: 'timed_out', exitReason: 'timeout' });
  });

  it('hands steering sent before the hand-off over with the run, and later steering to the executor', async () => {
    const e = engine();
    const id = e.delegate('s', { goal: 'g' });
    expect(e.steer('s', id, 'first')).toEqual({ taskId: id, seq: 1, status: 'queued' });
    await tick();
    expect(fake.runs.get(id)!.steering).toEqual([{ seq: 1, text: 'first' }]);
    e.steer('s', id, 'second');
    expect(fake.calls.at(-1)).toBe(`steer ${id} 2 second`);
    fake.start(id);
    fake.context.events.output(id, [{ kind: 'steer_ack', text: 'first', seq: 1 }], undefined);
    expect(e.snapshot(e.view('s', id), 5)).toMatchObject({
      steering: { sent: 2, delivered: 1 },
      preview: ['[steer #1 delivered] first'],
    });
    expect(events).toContainEqual(['steer-delivered', { taskId: id, sessionId: 's', seq: 1 }]);
  });

  it('keeps output that arrives just before the settle, and ignores anything after it', async () => {
    const e = engine();
    const id = e.delegate('s', { goal: 'g' });
    await tick();
    fake.start(id);
    fake.text(id, 'last words\n', 3);
    fake.complete(id, 'done');
    fake.text(id, 'from beyond\n', 9);
    const snapshot = e.snapshot(e.view('s', id), 10);
    expect(snapshot).toMatchObject({ status: 'completed', iterations: 3, outputLines: 1, result: 'done' });
    expect(snapshot.preview).toEqual(['last words']);
  });

  it('submits the next task only when a slot is free, which after a hard stop comes after the settle', async () => {
    const e = engine({ limits: { cancelGraceMs: 100 } }, 1);
    const first = e.delegate('s', { goal: 'a' });
    const second = e.delegate('s', { goal: 'b' });
    await tick();
    expect(fake.calls).toEqual([`submit ${first}`]);
    fake.start(first);
    e.stop(e.view('s', first).live!, 'cancel', 'stop it');
    vi.advanceTimersByTime(100);
    expect(fake.calls.at(-1)).toBe(`kill ${first}`);
    fake.context.events.settle(first, { status: 'failed', exitReason: 'crashed' });
    expect(e.snapshot(e.view('s', first), 0).status).toBe('cancelled');
    expect(fake.calls.at(-1)).toBe(`kill ${first}`);
    fake.free();
    expect(fake.calls.at(-1)).toBe(`submit ${second}`);
  });

  it('drops a task still in line without touching the executor, and kills one handed over but not started', async () => {
    const e = engine({}, 1);
    const handed = e.delegate('s', { goal: 'a' });
    const waiting = e.delegate('s', { goal: 'b' });
    await tick();
    e.stop(e.view('s', waiting).live!, 'cancel', 'never mind');
    e.stop(e.view('s', handed).live!, 'cancel', 'never mind');
    expect(fake.calls).toEqual([`submit ${handed}`, `kill ${handed}`]);
    expect(e.snapshot(e.view('s', waiting), 0).status).toBe('cancelled');
    expect(e.snapshot(e.view('s', handed), 0).status).toBe('cancelled');
  });

  it('refuses a child from a parent that is stopping, so a bridge call in flight cannot leave an orphan', async () => {
    const e = engine({ limits: { maxDepth: 1 } });
    const parent = e.delegate('s', { goal: 'p', role: 'orchestrator' });
    await tick();
    fake.start(parent);
    const child = e.delegate('s', { goal: 'c' }, parent);
    expect(e.view('s', child).record).toMatchObject({ depth: 1, parentId: parent });
    e.stop(e.view('s', parent).live!, 'cancel', 'stop');
    expect(e.snapshot(e.view('s', child), 0)).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled', message: `parent task ${parent} was stopped` },
    });
    expect(() => e.delegate('s', { goal: 'late child' }, parent)).toThrow(
      expect.objectContaining({ code: 'task_finished' }),
    );
  });

  it('close ends queued, running and finishing tasks once each, then closes the executor', async () => {
    const e = engine({ limits: { cancelGraceMs: 50 } }, 2);
    const running = e.delegate('s', { goal: 'a' });
    const finishing = e.delegate('s', { goal: 'b' });
    const queued = e.delegate('s', { goal: 'c' });
    await tick();
    fake.start(running);
    fake.start(finishing);
    fake.complete(finishing, 'just in time');
    const closed = e.close();
    expect(() => e.delegate('s', { goal: 'd' })).toThrow(expect.objectContaining({ code: 'shutting_down' }));
    fake.context.events.settle(running, { status: 'cancelled', exitReason: 'cancelled' });
    await closed;
    expect(fake.closed).toBe(true);
    const ends = events.filter(([name]) => name === 'task-end').map(([, snapshot]) => snapshot);
    expect(ends).toHaveLength(3);
    expect(
      Object.fromEntries(ends.map((s) => [(s as { id: string }).id, (s as { status: string }).status])),
    ).toEqual({ [running]: 'cancelled', [finishing]: 'completed', [queued]: 'cancelled' });
  });
});
