import { describe, expect, it } from 'vitest';
import { LimitExceededError } from './errors.js';
import { FairQueue } from './fair-queue.js';
import { assertQueueRoom, backlogLimit } from './queue-admission.js';

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
  it('keeps half of maxQueued for sessions\u2019 first waiting tasks', () => {
    expect(backlogLimit(1_000)).toBe(500);
    expect(backlogLimit(1)).toBe(0);
    const { waiting, admit } = line(10);
    for (let task = 0; task < 6; task++) expect(admit('flood')).toBe(true);
    expect(admit('flood')).toBe(false);
    expect(waiting.backlog).toBe(5);
    for (let session = 0; session < 4; session++) expect(admit(`first${session}`)).toBe(true);
    expect(admit('one-too-many')).toBe(false);
  });

  it('lets new sessions queue their first task after 63 sessions × 16 tasks (the defaults)', () => {
    const { waiting, admit, fill } = line(1_000);
    expect(fill(63, 16)).toBeGreaterThan(0);
    for (let fresh = 0; fresh < 100; fresh++) expect(admit(`fresh${fresh}`)).toBe(true);
    // Their second tasks wait for room like everyone else's.
    expect(admit('fresh0')).toBe(false);
    expect(waiting.size).toBeLessThanOrEqual(1_000);
  });

  it('never lets the queue pass maxQueued, first tasks included', () => {
    const { waiting, admit, fill } = line(8);
    fill(20, 5);
    expect(waiting.size).toBe(8);
    expect(admit('late')).toBe(false);
  });
});
