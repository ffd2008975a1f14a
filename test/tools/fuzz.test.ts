import { createDelegationTools, handleToolCall, TOOL_NAMES } from '@errand/tools';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closeAll, scripted, supervisor } from '../helpers.js';

afterAll(closeAll);

describe('tool input fuzzing', () => {
  it('every tool answers arbitrary JSON with valid JSON, never a throw, and the pool stays healthy', async () => {
    const sup = supervisor({
      model: scripted([{ text: 'ok' }]),
      limits: { maxTasksPerSession: 10_000, maxQueued: 10_000, retainFinished: 50 },
    });
    const session = sup.session('fuzz');
    const tools = createDelegationTools(session, { maxCollectSeconds: 0.05 });
    const known = session.delegate({ goal: 'a real task' });
    const taskId = fc.oneof(fc.constant(known), fc.uuid(), fc.string(), fc.integer(), fc.constant(null));
    const argument = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          goal: fc.oneof(fc.string(), fc.jsonValue()),
          task_id: taskId,
          message: fc.oneof(fc.string(), fc.jsonValue()),
          preview_lines: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
          timeout_seconds: fc.oneof(fc.double({ noNaN: false }), fc.constant(0), fc.jsonValue()),
          max_iterations: fc.oneof(fc.integer(), fc.jsonValue()),
          toolsets: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
          status: fc.oneof(fc.constantFrom('queued', 'running', 'completed'), fc.string()),
          reason: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TOOL_NAMES), argument, fc.boolean(), async (name, args, asText) => {
        const raw = asText ? JSON.stringify(args) : (args as object);
        const reply = await handleToolCall(tools, name, raw);
        const parsed = JSON.parse(reply) as Record<string, unknown>;
        expect(typeof parsed).toBe('object');
        if ('error' in parsed) {
          expect(Object.keys(parsed.error as object).sort()).toEqual(['code', 'message']);
        }
      }),
      { numRuns: 400 },
    );
    // Still healthy: new work runs to completion.
    const after = session.delegate({ goal: 'after the fuzzing' });
    expect((await session.collect(after, { timeoutMs: 20_000 })).status).toBe('completed');
  });

  it('arbitrary strings as raw arguments never throw', async () => {
    const sup = supervisor({ model: scripted([{ text: 'ok' }]) });
    const tools = createDelegationTools(sup.session('fuzz-text'));
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (name, raw) => {
        const reply = await handleToolCall(tools, name, raw);
        expect(JSON.parse(reply)).toBeTypeOf('object');
      }),
      { numRuns: 200 },
    );
  });
});
