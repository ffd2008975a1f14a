import { describe, expect, it } from 'vitest';
import { LimitExceededError } from './errors.js';
import { FairQueue } from './fair-queue.js';
import { assertQueueRoom, firstTaskReserve } from './queue-admission.js';

/** A line of session ids, admitted through `assertQueueRoom` as `Engine.delegate` does (nothing starts). */
function line(maxQueued: number) {
  const waiting = new FairQueue<string>((session) => session);
  const admit = (session: string): boolean => {
    try {
      assertQueueRoom(waiting.size, waiting, session, maxQueued);
    } catch (error) {
      expect(error).toBeInstanceOf(LimitExceededError);
      expect((error as LimitExceededError).details).toMatchObject({ limit: 'maxQueued' });
      return false;
    }
    waiting.push(session);
    return true;
  };
  const fill = (sessions: number, perSession: number, prefix = 'busy') => {
    let refused = 0;
    for (let session = 0; session < sessions; session++) {
      for (let task = 0; task < perSession; task++) if (!admit(`${prefix}${session}`)) refused += 1;
    }
    return refused;
  };
  return { waiting, admit, fill };
}

describe('queue admission', () => {
  it('lets one session fill maxQueued, and keeps a reserve above it for sessions\u2019 first waiting tasks', () => {
    expect(firstTaskReserve(1_000)).toBe(100);
    expect(firstTaskReserve(1)).toBe(1);
    const { waiting, admit } = line(10);
    for (let task = 0; task < 10; task++) expect(admit('flood')).toBe(true);
    expect(admit('flood')).toBe(false);
    expect(admit('first0')).toBe(true);
    expect(admit('first0')).toBe(false);
    expect(admit('first1')).toBe(false);
    expect(waiting.size).toBe(11);
  });

  it('lets new sessions queue their first task after 63 sessions × 16 tasks (the defaults)', () => {
    const { waiting, admit, fill } = line(1_000);
    expect(fill(63, 16)).toBeGreaterThan(0);
    for (let fresh = 0; fresh < 100; fresh++) expect(admit(`fresh${fresh}`)).toBe(true);
    // Their second tasks wait for room like everyone else's.
    expect(admit('fresh0')).toBe(false);
    expect(admit('one-too-many')).toBe(false);
    expect(waiting.size).toBe(1_100);
  });

  it('never lets the queue pass maxQueued plus the reserve, first tasks included', () => {
    const { waiting, admit, fill } = line(8);
    fill(20, 5);
    expect(waiting.size).toBe(8 + firstTaskReserve(8));
    expect(admit('late')).toBe(false);
  });
});
