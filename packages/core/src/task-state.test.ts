import { describe, expect, it } from 'vitest';
import { transition } from './task-state.js';

describe('transition', () => {
  it('runs queued → running → completed', () => {
    const running = transition({ status: 'queued' }, { type: 'start' });
    expect(running).toEqual({ status: 'running' });
    expect(transition(running, { type: 'finish', status: 'completed' })).toEqual({ status: 'completed' });
  });

  it('ends a stopping task in its stop status whatever the worker reports', () => {
    const stopping = transition({ status: 'running' }, { type: 'stop-request', reason: 'cancel' });
    expect(transition(stopping, { type: 'finish', status: 'completed' }).status).toBe('cancelled');
    const timing = transition({ status: 'running' }, { type: 'stop-request', reason: 'timeout' });
    expect(transition(timing, { type: 'finish', status: 'failed' }).status).toBe('timed_out');
  });

  it('keeps the first stop reason', () => {
    const cancelled = transition({ status: 'running' }, { type: 'stop-request', reason: 'cancel' });
    expect(transition(cancelled, { type: 'stop-request', reason: 'timeout' }).stopping).toBe('cancelled');
  });

  it('never leaves a terminal state', () => {
    const done = { status: 'completed' as const };
    expect(transition(done, { type: 'start' })).toBe(done);
    expect(transition(done, { type: 'stop-request', reason: 'cancel' })).toBe(done);
    expect(transition(done, { type: 'finish', status: 'failed' })).toBe(done);
  });
});
