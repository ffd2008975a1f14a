import { describe, expect, it } from 'vitest';
import { replyForError } from './delegation-replies.js';
import { InvalidInputError, LimitExceededError, NotFoundError, TaskFinishedError } from './errors.js';

const reply = (error: unknown) => JSON.parse(replyForError(error)) as Record<string, unknown>;

describe('replyForError builds the tools’ messages from the errors’ typed fields', () => {
  it('names renamed fields in the tools’ words and units, never by editing the engine’s text', () => {
    // The engine's sentence does not even mention the field: a text replacement would leave it camelCase.
    const iterations = new InvalidInputError('maxIterations', 5000, 'is too high', 'too many turns asked');
    expect(reply(iterations)).toEqual({
      error: {
        code: 'invalid_input',
        message: 'max_iterations 5000 is refused by this host (too many turns asked)',
      },
    });
    const timeout = new InvalidInputError('timeoutMs', 7_200_000, 'must be at most 3600000, got 7200000');
    expect((reply(timeout).error as { message: string }).message).toMatch(
      /^timeout_seconds 7200 is refused by this host \(timeoutMs must be at most 3600000/,
    );
    // Fields the tools name as the engine does keep the engine's own sentence.
    const goal = new InvalidInputError('goal', '', 'must not be blank');
    expect(reply(goal)).toEqual({ error: { code: 'invalid_input', message: 'goal must not be blank' } });
  });

  it('builds limit, task_finished and not_found messages from limit/max, taskId/status and taskId', () => {
    expect(reply(new LimitExceededError('maxTasksPerSession', 3, 'engine words'))).toEqual({
      error: {
        code: 'limit_exceeded',
        message:
          'this session already has 3 unfinished tasks, the most allowed; collect or cancel some first',
      },
    });
    expect(reply(new LimitExceededError('maxSomethingNew', 7, 'engine words'))).toEqual({
      error: { code: 'limit_exceeded', message: 'the limit max_something_new (7) is reached' },
    });
    expect(reply(new TaskFinishedError('t-1', 'cancelled'))).toEqual({
      error: { code: 'task_finished', message: 'task t-1 is already cancelled' },
      task_id: 't-1',
      status: 'cancelled',
    });
    expect(reply(new NotFoundError('t-2'))).toEqual({
      error: { code: 'not_found', message: 'no task "t-2" in this session' },
    });
    expect(reply(new TypeError('boom'))).toEqual({
      error: { code: 'tool_error', message: 'unexpected failure: boom' },
    });
  });
});
