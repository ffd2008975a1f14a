import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { DEFAULT_LIMITS, resolveOptions, resolveSpecifier } from './options.js';

const model = { provider: 'scripted' as const, turns: [{ text: 'x' }] };

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions({ model });
    expect(resolved.limits).toEqual(DEFAULT_LIMITS);
    expect(resolved.limits).toMatchObject({
      maxGoalChars: 20_000,
      maxSteerChars: 4_000,
      maxTasksPerSession: 16,
      maxQueued: 1_000,
      retainFinished: 1_000,
      cancelGraceMs: 2_000,
      outputLines: 200,
      outputLineChars: 500,
      defaultTimeoutMs: 30 * 60_000,
    });
    expect(resolved.pool.maxThreads).toBe(Math.max(1, availableParallelism() - 1));
    expect(resolved.pool.maxThreads * resolved.pool.agentsPerThread).toBeGreaterThanOrEqual(64);
  });

  it('names the offending option, what was expected and the value given', () => {
    expect(() => resolveOptions({ model, limits: { outputLines: 0 } })).toThrow(
      'limits.outputLines must be an integer from 1 to 100000, got 0 (number)',
    );
    expect(() => resolveOptions({ model, pool: { maxThreads: 1.5 } })).toThrow(
      'pool.maxThreads must be an integer from 1 to 1024, got 1.5 (number)',
    );
    expect(() => resolveOptions({ model, pool: { niceIncrement: '3' as never } })).toThrow(
      'pool.niceIncrement must be an integer from 0 to 19, got "3" (string)',
    );
    expect(() => resolveOptions({ model: { provider: 'nope' } as never })).toThrow(
      'model.provider must be one of "scripted", "module", "openai-compatible", "ai-sdk", "host", got "nope" (string)',
    );
    try {
      resolveOptions({ model, pool: { maxThreads: 0 } });
      expect.unreachable();
    } catch (error) {
      expect(InvalidInputError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid_input', field: 'pool.maxThreads', value: 0 });
    }
  });

  it('says a required option is missing in words, not as "got undefined"', () => {
    expect(() => resolveOptions({} as never)).toThrow(/^model is required: an object$/);
    expect(() => resolveOptions({ model: { provider: 'openai-compatible' } } as never)).toThrow(
      /^model\.baseURL is required: a string$/,
    );
  });

  it('refuses unknown keys anywhere, suggesting the known key a typo resembles', () => {
    expect(() => resolveOptions({ model, stor: { kind: 'memory' } } as never)).toThrow(
      'unknown option "stor"; did you mean "store"?',
    );
    expect(() => resolveOptions({ model, limits: { maxQueue: 1 } } as never)).toThrow(
      'unknown option "limits.maxQueue"; did you mean "limits.maxQueued"?',
    );
    expect(() => resolveOptions({ model, pool: { zzz: 1 } } as never)).toThrow(
      /^unknown option "pool.zzz" \(known: maxThreads, /,
    );
    expect(() =>
      resolveOptions({ model: { provider: 'scripted', turns: [{ text: 'x' }], lopo: true } } as never),
    ).toThrow(/unknown option "model.lopo"; did you mean "model.loop"\?/);
  });

  it('takes Piscina-style resourceLimits and idleTimeout too', () => {
    const { pool } = resolveOptions({
      model,
      pool: { idleTimeout: 5, resourceLimits: { maxOldGenerationSizeMb: 64 } },
    });
    expect(pool.idleTimeoutMs).toBe(5);
    expect(pool.resourceLimits).toEqual({ maxOldGenerationSizeMb: 64 });
    expect(resolveOptions({ model, pool: { maxOldGenerationSizeMb: 32 } }).pool.resourceLimits).toEqual({
      maxOldGenerationSizeMb: 32,
    });
  });

  it('keeps minThreads within maxThreads', () => {
    expect(resolveOptions({ model, pool: { maxThreads: 1 } }).pool.minThreads).toBe(1);
  });

  it('shares threads by default, and keeps one agent per thread when maxThreads alone is given', () => {
    expect(resolveOptions({ model }).pool.agentsPerThread).toBe(64);
    expect(resolveOptions({ model, pool: { maxThreads: 4 } }).pool.agentsPerThread).toBe(1);
    expect(resolveOptions({ model, pool: { agentsPerThread: 8 } }).pool).toMatchObject({
      agentsPerThread: 8,
      maxThreads: Math.max(1, availableParallelism() - 1),
    });
    expect(() => resolveOptions({ model, pool: { agentsPerThread: 0 } })).toThrow(
      'pool.agentsPerThread must be an integer from 1 to 10000, got 0 (number)',
    );
    expect(() => resolveOptions({ model, pool: { agentsPerThreads: 2 } as never })).toThrow(
      /did you mean "pool.agentsPerThread"/,
    );
  });
});

describe('the executor option', () => {
  const connection = 'redis://127.0.0.1:6379';

  it('takes the bullmq executor as plain data, with the queue defaulted', () => {
    expect(resolveOptions({ model, executor: { kind: 'bullmq', connection } }).executor).toEqual({
      kind: 'bullmq',
      connection,
      queue: 'errand',
    });
    expect(resolveOptions({ model }).executor).toEqual({ kind: 'piscina' });
  });

  it('refuses a non-Redis URL, a bad queue name, a mistyped key and a SQLite store beside it', () => {
    expect(() => resolveOptions({ model, executor: { kind: 'bullmq', connection: 'http://x' } })).toThrow(
      /executor\.connection must be a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(() => resolveOptions({ model, executor: { kind: 'bullmq', connection, queue: 'a b' } })).toThrow(
      /executor\.queue/,
    );
    expect(() =>
      resolveOptions({ model, executor: { kind: 'bullmq', connection, queu: 'x' } as never }),
    ).toThrow('unknown option "executor.queu"; did you mean "executor.queue"?');
    expect(() =>
      resolveOptions({
        model,
        executor: { kind: 'bullmq', connection },
        store: { kind: 'sqlite', path: '/tmp/x.db' },
      }),
    ).toThrow(/store must be memory/);
  });
});

describe('resolveSpecifier', () => {
  it('turns paths into file URLs, keeps URLs, and resolves package names from the cwd', () => {
    expect(resolveSpecifier('/tmp/x.mjs')).toBe('file:///tmp/x.mjs');
    expect(resolveSpecifier('file:///tmp/x.mjs')).toBe('file:///tmp/x.mjs');
    expect(resolveSpecifier('vitest')).toMatch(/^file:\/\/.*vitest/);
    expect(resolveSpecifier('no-such-package-xyz')).toBe('no-such-package-xyz');
  });
});
