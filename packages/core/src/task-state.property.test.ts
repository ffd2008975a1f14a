import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTerminal, type TaskEvent, type TaskState, transition } from './task-state.js';

const event: fc.Arbitrary<TaskEvent> = fc.oneof(
  fc.constant({ type: 'start' as const }),
  fc
    .constantFrom('cancel' as const, 'timeout' as const)
    .map((reason) => ({ type: 'stop-request' as const, reason })),
  fc
    .constantFrom('completed' as const, 'failed' as const, 'cancelled' as const, 'timed_out' as const)
    .map((status) => ({ type: 'finish' as const, status })),
);

describe('task state machine (property)', () => {
  it('never changes a terminal state, and a stop decides the final status', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        let state: TaskState = { status: 'queued' };
        let terminal: TaskState | undefined;
        let firstStop: 'cancelled' | 'timed_out' | undefined;
        for (const next of events) {
          if (!terminal && next.type === 'stop-request' && !firstStop) {
            firstStop = next.reason === 'timeout' ? 'timed_out' : 'cancelled';
          }
          state = transition(state, next);
          if (terminal) expect(state).toBe(terminal);
          else if (isTerminal(state.status)) {
            terminal = state;
            if (firstStop) expect(state.status).toBe(firstStop);
          }
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
