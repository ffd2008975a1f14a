import type { TaskSnapshot } from '@errand/core';
import { describe, expect, it } from 'vitest';
import { completionNotice } from './completion-notice.js';

const snapshot = (patch: Partial<TaskSnapshot>): TaskSnapshot => ({
  id: 'task-1',
  sessionId: 's',
  status: 'completed',
  goal: 'summarise the open issues',
  createdAt: 0,
  endedAt: 1000,
  elapsedMs: 1000,
  iterations: 2,
  preview: [],
  outputLines: 3,
  droppedLines: 0,
  steering: { sent: 0, delivered: 0 },
  result: 'three issues are open',
  ...patch,
});

describe('completionNotice', () => {
  it('tells the model which task ended, how, its goal and result, and to collect it', () => {
    expect(completionNotice(snapshot({}))).toBe(
      [
        '<task-notification>',
        'Background task task-1 completed.',
        'Goal: summarise the open issues',
        'Result: three issues are open',
        'Next: Call collect_task with task_id "task-1" for the full result and output.',
        '</task-notification>',
      ].join('\n'),
    );
  });

  it('cuts a long goal and result, saying how much of the result was left out', () => {
    const notice = completionNotice(snapshot({ goal: 'g'.repeat(500), result: 'r'.repeat(5000) }), {
      goalChars: 10,
      resultChars: 20,
    });
    expect(notice).toContain(`Goal: ${'g'.repeat(10)}…\n`);
    expect(notice).toContain(`Result: ${'r'.repeat(20)}…\n(4980 more characters of the result not shown.)`);
    expect(notice.length).toBeLessThan(400);
  });

  it('reports the error and the partial result of a task that did not complete', () => {
    const notice = completionNotice(
      snapshot({
        status: 'timed_out',
        result: 'half done',
        error: { code: 'timeout', message: 'the task ran past 60 s' },
      }),
    );
    expect(notice).toContain('Background task task-1 timed out.');
    expect(notice).toContain('Error (timeout): the task ran past 60 s');
    expect(notice).toContain('Partial result: half done');
    expect(notice).toMatch(/partial result and output; delegate again/);
    const bare = completionNotice(snapshot({ status: 'failed', result: undefined as never }));
    expect(bare).toContain('Result: none.');
  });

  it('as JSON, for hosts that parse it', () => {
    const json = JSON.parse(
      completionNotice(snapshot({ result: 'x'.repeat(30) }), { format: 'json', resultChars: 10 }),
    ) as Record<string, unknown>;
    expect(json).toEqual({
      type: 'task_notification',
      task_id: 'task-1',
      status: 'completed',
      goal: 'summarise the open issues',
      result: `${'x'.repeat(10)}…`,
      result_omitted_chars: 20,
      next: 'Call collect_task with task_id "task-1" for the full result and output.',
    });
  });

  it('refuses a snapshot of a task that has not finished', () => {
    expect(() => completionNotice(snapshot({ status: 'running' }))).toThrow(
      /snapshot must be a finished task's snapshot, got one that is running/,
    );
  });
});
