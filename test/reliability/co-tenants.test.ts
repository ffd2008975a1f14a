/**
 * Several agents on one worker thread (`pool.agentsPerThread`): when one of them ends the thread (a hard cancel,
 * `process.exit`, memory outside the heap), only that one fails; every other agent on the thread moves to
 * another thread from its latest checkpoint, says so in its output, and completes with its conversation intact
 * (the tenant model reports how many turns it saw before the move). Synchronised on task events, never sleeps.
 */
import type { Session, Supervisor, TaskSnapshot } from '@errand/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, fixture, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const TENANTS = 7;
/** Assistant turns a tenant makes before it answers; it holds at its third until it has moved. */
const TURNS = 4;
const HOLD_AT = 2;

const tenantModel = (holdAt: number | undefined = HOLD_AT) => ({
  provider: 'module' as const,
  specifier: fixture('tenant-model.mjs'),
  options: { turns: TURNS, ...(holdAt === undefined ? {} : { holdAt }) },
});

function coTenants(extra: { maxExternalMb?: number } = {}): Supervisor {
  return supervisor({
    model: tenantModel(),
    models: {
      hang: scripted([{ text: 'hanging', toolCalls: [{ name: 'hang' }] }]),
      exit: scripted([{ text: 'exiting', toolCalls: [{ name: 'exit' }] }]),
      hoard: scripted([{ toolCalls: [{ name: 'buffers', arguments: { mb: 64 } }] }, { text: 'hoarded' }]),
      // Throws from a timer while its next model turn waits: the task is still running when its thread dies.
      throwing: scripted([
        { toolCalls: [{ name: 'throwLater', arguments: { afterMs: 0 } }] },
        { text: 'never', delayMs: 60_000 },
      ]),
      // Throws from a timer after the task has finished: nobody on the thread is to blame.
      throwAfter: scripted([
        { toolCalls: [{ name: 'throwLater', arguments: { afterMs: 200 } }] },
        { text: 'done' },
      ]),
    },
    toolsets: {
      echo: fixture('echo-toolset.mjs'),
      faults: fixture('engine-faults-toolset.mjs'),
      soak: fixture('soak-toolset.mjs'),
    },
    // One thread for everyone: the culprit always shares it with every tenant.
    pool: { maxThreads: 1, agentsPerThread: TENANTS + 1, ...extra },
    limits: { cancelGraceMs: 100 },
  });
}

/** Resolves once `ready()` holds, checked after every event that can change it. */
function until(sup: Supervisor, ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!ready()) return;
      sup.off('task-output', check);
      sup.off('task-status', check);
      resolve();
    };
    sup.on('task-output', check);
    sup.on('task-status', check);
    check();
  });
}

/** Delegates the tenants and waits until each has a checkpoint and is holding mid-iteration. */
async function holdingTenants(sup: Supervisor, session: Session): Promise<string[]> {
  const ids = Array.from({ length: TENANTS }, (_, index) =>
    session.delegate({ goal: `tenant ${index}`, toolsets: ['echo'] }),
  );
  await until(sup, () => ids.every((id) => session.check(id).iterations >= HOLD_AT));
  return ids;
}

/** Every tenant completed after moving, with the turns it made before the move still in its conversation. */
async function expectMovedAndIntact(session: Session, ids: string[], why: RegExp): Promise<TaskSnapshot[]> {
  const ends = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 30_000 })));
  for (const end of ends) {
    expect(end).toMatchObject({
      status: 'completed',
      result: `saw ${TURNS} turns; ${HOLD_AT} before a move`,
    });
    const moved = end.preview.find((line) => line.startsWith('[moved to another thread'));
    expect(moved).toMatch(why);
    expect(moved).toContain(`resuming from iteration ${HOLD_AT + 1}`);
  }
  return ends;
}

/** Counts `task-end` per task: each must end exactly once. */
function endCounts(sup: Supervisor): Map<string, number> {
  const counts = new Map<string, number>();
  sup.on('task-end', (snapshot) => counts.set(snapshot.id, (counts.get(snapshot.id) ?? 0) + 1));
  return counts;
}

describe('co-tenants of a thread that dies', () => {
  it('move on when a co-tenant is hard-cancelled; only the culprit ends cancelled', async () => {
    const sup = coTenants();
    const ends = endCounts(sup);
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    const culprit = session.delegate({ goal: 'spin', model: 'hang', toolsets: ['faults'] });
    await until(sup, () => session.check(culprit).preview.some((line) => line.startsWith('→ hang')));
    const cancelled = await session.cancel(culprit);
    expect(cancelled.status).toBe('cancelled');
    await expectMovedAndIntact(session, ids, new RegExp(`task ${culprit} was stopped hard`));
    await sup.close();
    expect([...ends.values()].every((count) => count === 1)).toBe(true);
    expect(ends.size).toBe(TENANTS + 1);
  });

  it('move on when a co-tenant calls process.exit; only the culprit fails worker_crashed', async () => {
    const sup = coTenants();
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    const culprit = session.delegate({ goal: 'exit', model: 'exit', toolsets: ['faults'] });
    const crashed = await session.collect(culprit, { timeoutMs: 30_000 });
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } });
    await expectMovedAndIntact(
      session,
      ids,
      new RegExp(`task ${culprit} ended the thread \\(process\\.exit\\(3\\)\\)`),
    );
  });

  it('move on when a co-tenant holds too much memory outside the heap; only it fails', async () => {
    const sup = coTenants({ maxExternalMb: 32 });
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    const culprit = session.delegate({ goal: 'hoard', model: 'hoard', toolsets: ['soak'] });
    const crashed = await session.collect(culprit, { timeoutMs: 30_000 });
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } });
    expect(crashed.error?.message).toMatch(/pool\.maxExternalMb = 32/);
    await expectMovedAndIntact(session, ids, new RegExp(`task ${culprit} ended the thread: out of memory`));
  });

  it('move on when a co-tenant’s code throws an uncaught error; only the culprit fails', async () => {
    const sup = coTenants();
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    const culprit = session.delegate({ goal: 'throw', model: 'throwing', toolsets: ['faults'] });
    const crashed = await session.collect(culprit, { timeoutMs: 30_000 });
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } });
    await expectMovedAndIntact(
      session,
      ids,
      new RegExp(`task ${culprit} ended the thread \\(an uncaught error\\)`),
    );
  });

  it('moves everyone when a thread dies with no culprit running; every task still ends once', async () => {
    const sup = coTenants();
    const ends = endCounts(sup);
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    const thrower = session.delegate({ goal: 'throw after', model: 'throwAfter', toolsets: ['faults'] });
    const tenants = await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 30_000 })));
    for (const end of tenants) {
      expect(end.status).toBe('completed');
      expect(end.result).toBe(`saw ${TURNS} turns; ${HOLD_AT} before a move`);
    }
    // Usually done before its timer fires (then the thread "crashed", culprit unknown); on a slow machine it is
    // still running and is named instead.
    expect(['completed', 'failed']).toContain((await session.collect(thrower, { timeoutMs: 30_000 })).status);
    await sup.close();
    expect(ends.size).toBe(TENANTS + 1);
    expect([...ends.values()].every((count) => count === 1)).toBe(true);
  });

  it('keeps steering a moved agent had not yet put in its conversation, delivered once', async () => {
    const sup = coTenants();
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    // Sent while each tenant waits on its model: none has reached its conversation when the thread dies.
    for (const id of ids) session.steer(id, `note for ${id.slice(0, 8)}`);
    const culprit = session.delegate({ goal: 'exit', model: 'exit', toolsets: ['faults'] });
    await session.collect(culprit, { timeoutMs: 30_000 });
    for (const id of ids) {
      const end = await session.collect(id, { timeoutMs: 30_000 });
      expect(end.status).toBe('completed');
      expect(end.result).toContain(`steering: note for ${id.slice(0, 8)}`);
      expect(end.steering).toEqual({ sent: 1, delivered: 1 });
    }
  });

  it('a spinning co-tenant does not hold steering and cancels: the others move, the spinner stays', async () => {
    const sup = coTenants();
    const session = sup.session('s');
    const ids = await holdingTenants(sup, session);
    const spinner = session.delegate({ goal: 'spin', model: 'hang', toolsets: ['faults'] });
    await until(sup, () => session.check(spinner).preview.some((line) => line.startsWith('→ hang')));
    const [steered, cancelled, ...others] = ids as [string, string, ...string[]];
    const delivered = new Promise<void>((resolve) =>
      sup.on('steer-delivered', (event) => event.taskId === steered && resolve()),
    );
    session.steer(steered, 'heard despite the spinner');
    const stopped = await session.cancel(cancelled);
    expect(stopped.status).toBe('cancelled');
    await delivered;
    const ends = await Promise.all(
      [steered, ...others].map((id) => session.collect(id, { timeoutMs: 30_000 })),
    );
    for (const end of ends) {
      expect(end.status).toBe('completed');
      expect(end.result).toMatch(new RegExp(`^saw ${TURNS} turns; ${HOLD_AT} before a move`));
      expect(end.preview.find((line) => line.startsWith('[moved'))).toContain(
        `task ${spinner} has kept its thread from yielding`,
      );
    }
    expect(ends[0]?.result).toContain('steering: heard despite the spinner');
    // The spinner was left where it was, still running, until it is stopped hard.
    expect(session.check(spinner).status).toBe('running');
    expect(session.check(spinner).preview.some((line) => line.startsWith('[moved'))).toBe(false);
    expect((await session.cancel(spinner)).status).toBe('cancelled');
  });

  it('keeps one agent per thread when maxThreads alone is given: a crash fails only its own task', async () => {
    const sup = supervisor({ model: scripted([{ text: 'exiting', toolCalls: [{ name: 'exit' }] }]) });
    const session = sup.session('s');
    const crashed = await session.collect(session.delegate({ goal: 'exit', toolsets: ['faults'] }), {
      timeoutMs: 30_000,
    });
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } });
    expect(crashed.preview.some((line) => line.startsWith('[moved'))).toBe(false);
  });
});
