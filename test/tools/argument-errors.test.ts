import { createDelegationTools, handleToolCall } from '@errand/tools';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

type Reply = { error?: { code: string; message: string }; task_id?: string };

function setup(limits?: { maxIterations: number }) {
  const sup = supervisor({
    model: scripted([{ text: 'slow', delayMs: 60_000 }]),
    ...(limits ? { limits } : {}),
  });
  const tools = createDelegationTools(sup.session('args'), { limits: sup.limits, maxCollectSeconds: 0 });
  const call = async (name: string, args: unknown): Promise<Reply> =>
    JSON.parse(await handleToolCall(tools, name, args as object)) as Reply;
  return { sup, call };
}

describe('numeric arguments are checked by the tool, in its own words', () => {
  it('names the snake_case field, the real bounds and the value given', async () => {
    const { sup, call } = setup();
    const task = (await call('delegate_task_async', { goal: 'g' })).task_id;
    const cases: Array<[tool: string, args: Record<string, unknown>, message: string]> = [
      [
        'delegate_task_async',
        { goal: 'g', timeout_seconds: 1e-9 },
        'timeout_seconds must be a number from 1 to 86400, got 1e-9',
      ],
      [
        'delegate_task_async',
        { goal: 'g', timeout_seconds: 1e300 },
        'timeout_seconds must be a number from 1 to 86400, got 1e+300',
      ],
      [
        'delegate_task_async',
        { goal: 'g', timeout_seconds: 0.5 },
        'timeout_seconds must be a number from 1 to 86400, got 0.5',
      ],
      [
        'delegate_task_async',
        { goal: 'g', timeout_seconds: '60' },
        'timeout_seconds must be a number from 1 to 86400, got "60" (string)',
      ],
      [
        'delegate_task_async',
        { goal: 'g', max_iterations: 0 },
        'max_iterations must be an integer from 1 to 1000, got 0',
      ],
      [
        'delegate_task_async',
        { goal: 'g', max_iterations: 2.5 },
        'max_iterations must be an integer from 1 to 1000, got 2.5',
      ],
      [
        'delegate_task_async',
        { goal: 'g', max_iterations: 1e300 },
        'max_iterations must be an integer from 1 to 1000, got 1e+300',
      ],
      [
        'check_task',
        { task_id: task, preview_lines: -1 },
        'preview_lines must be an integer from 0 to 200, got -1',
      ],
      [
        'check_task',
        { task_id: task, preview_lines: 201 },
        'preview_lines must be an integer from 0 to 200, got 201',
      ],
      [
        'check_task',
        { task_id: task, preview_lines: [1] },
        'preview_lines must be an integer from 0 to 200, got [1] (array)',
      ],
      [
        'collect_task',
        { task_id: task, timeout_seconds: -1 },
        'timeout_seconds must be a number, 0 or more, got -1',
      ],
      [
        'collect_task',
        { task_id: task, timeout_seconds: true },
        'timeout_seconds must be a number, 0 or more, got true (boolean)',
      ],
    ];
    for (const [tool, args, message] of cases) {
      expect(await call(tool, args), `${tool} ${JSON.stringify(args)}`).toEqual({
        error: { code: 'invalid_input', message },
      });
    }
    // Only the first task was started; none of the rejected calls reached the engine.
    expect(sup.session('args').list()).toHaveLength(1);
    // A huge collect wait is cut to the host's cap (0 here) rather than refused, as its description says.
    expect(await call('collect_task', { task_id: task, timeout_seconds: 1e300 })).not.toHaveProperty('error');
  });

  it('follows the supervisor limits it is given', async () => {
    const { call } = setup({ maxIterations: 20 });
    expect((await call('delegate_task_async', { goal: 'g', max_iterations: 21 })).error?.message).toBe(
      'max_iterations must be an integer from 1 to 20, got 21',
    );
  });

  it('echoes a long bad value cut short', async () => {
    const { call } = setup();
    const reply = await call('delegate_task_async', { goal: 'g', max_iterations: 'x'.repeat(10_000) });
    expect(reply.error?.message.length).toBeLessThan(150);
  });
});

describe('unknown argument names', () => {
  it('names at most five, each cut to 64 characters, and counts the rest', async () => {
    const { call } = setup();
    const args: Record<string, unknown> = { goal: 'g' };
    for (let index = 0; index < 200_000; index += 1) args[`k${index}_${'z'.repeat(100)}`] = 1;
    const raw = await handleToolCall(
      createDelegationTools(supervisor({ model: scripted([{ text: 'x' }]) }).session('keys')),
      'delegate_task_async',
      args,
    );
    expect(raw.length).toBeLessThan(600);
    const reply = JSON.parse(raw) as Reply;
    expect(reply.error?.code).toBe('invalid_input');
    expect(reply.error?.message).toMatch(/^arguments: unknown argument\(s\): k0_z{61}…, k1_z{61}…, /);
    expect(reply.error?.message).toMatch(/ and 199995 more$/);
    expect((await call('list_tasks', { a: 1, b: 2 })).error?.message).toBe(
      'arguments: unknown argument(s): a, b',
    );
  });
});
