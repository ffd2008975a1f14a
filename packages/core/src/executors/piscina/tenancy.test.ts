import { describe, expect, it } from 'vitest';
import { Tenancy, type Tenant } from './tenancy.js';

const run = (taskId: string, facts: Partial<Tenant> = {}): Tenant => ({
  taskId,
  fatal: undefined,
  exiting: undefined,
  ...facts,
});

describe('Tenancy', () => {
  it('names the run that said it ended the thread, out of memory first, then process.exit', () => {
    const tenancy = new Tenancy<Tenant>();
    const exiting = run('a', { exiting: 'process.exit(3)' });
    const fatal = run('b', { fatal: 'out of memory: 40 MB' });
    for (const each of [run('c'), exiting, fatal]) tenancy.place(each, 7);
    expect(tenancy.death(7, 'worker exited with code: 1')).toEqual({
      culprit: fatal,
      why: 'task b ended the thread: out of memory: 40 MB',
      tenants: 3,
    });
    // Decided once: later reports of the same death get the same answer.
    tenancy.leave(fatal, 7);
    expect(tenancy.death(7, 'other').culprit).toBe(fatal);
  });

  it('keeps the executor’s own reason, and an unknown culprit otherwise', () => {
    const tenancy = new Tenancy<Tenant>();
    const killed = run('k');
    tenancy.place(killed, 1);
    tenancy.place(run('x'), 1);
    tenancy.end(1, killed, 'task k was stopped hard');
    expect(tenancy.ending(1)).toBe(true);
    expect(tenancy.death(1, 'exit')).toMatchObject({ culprit: killed, tenants: 2 });
    tenancy.place(run('y'), 2);
    expect(tenancy.death(2, 'boom')).toEqual({
      culprit: undefined,
      why: 'its thread crashed (boom)',
      tenants: 1,
    });
  });

  it('stalls a thread for new runs until it yields again, and forgets a buried one', () => {
    const tenancy = new Tenancy<Tenant>();
    tenancy.stall(4);
    expect([tenancy.ending(4), tenancy.dying(4), tenancy.stalled(4)]).toEqual([true, false, true]);
    tenancy.unstall(4);
    expect(tenancy.ending(4)).toBe(false);
    tenancy.end(5, undefined, 'why');
    tenancy.buried(5);
    expect(tenancy.ending(5)).toBe(false);
    expect(tenancy.tenants(undefined).size).toBe(0);
  });
});
